/**
 * Device icons as one inline SVG sprite: the script clones `<use href="#icon-…">`, so no image
 * request and nothing the CSP has to allow. Outlines only, drawn with `currentColor`.
 */
export function IconSprite() {
  return (
    <svg xmlns="http://www.w3.org/2000/svg" class="sprite" aria-hidden="true" focusable="false">
      <symbol id="icon-desktop" viewBox="0 0 24 24">
        <rect x="3" y="4" width="18" height="12" rx="1.5" />
        <path d="M8 20h8M12 16v4" />
      </symbol>
      <symbol id="icon-mobile" viewBox="0 0 24 24">
        <rect x="7" y="2.5" width="10" height="19" rx="2" />
        <path d="M11 18.5h2" />
      </symbol>
      <symbol id="icon-tablet" viewBox="0 0 24 24">
        <rect x="4" y="3" width="16" height="18" rx="2" />
        <path d="M11 18h2" />
      </symbol>
      <symbol id="icon-other" viewBox="0 0 24 24">
        <circle cx="12" cy="12" r="8.5" />
        <path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .8-1 1.5v.7M12 17h.01" />
      </symbol>
    </svg>
  );
}
