/**
 * Device and security-history icons as one inline SVG sprite: the script clones `<use href="#icon-…">`, so no image
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
      {/* Security history: one per kind of event. */}
      <symbol id="icon-sign-in" viewBox="0 0 24 24">
        <path d="M14 4h4a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-4M4 12h11M11 8l4 4-4 4" />
      </symbol>
      <symbol id="icon-sign-out" viewBox="0 0 24 24">
        <path d="M10 4H6a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h4M9 12h11M16 8l4 4-4 4" />
      </symbol>
      <symbol id="icon-key" viewBox="0 0 24 24">
        <circle cx="8" cy="15" r="4" />
        <path d="M11 12l8-8M16 7l2.5 2.5M18.5 4.5 21 7" />
      </symbol>
      <symbol id="icon-passkey" viewBox="0 0 24 24">
        <circle cx="9" cy="8" r="3.5" />
        <path d="M3 20c0-3.3 2.7-6 6-6 1.4 0 2.6.4 3.6 1.2" />
        <circle cx="17" cy="14.5" r="2.5" />
        <path d="M17 17v4.5M17 19.5h2" />
      </symbol>
      <symbol id="icon-blocked" viewBox="0 0 24 24">
        <circle cx="12" cy="12" r="8.5" />
        <path d="M6 6l12 12" />
      </symbol>
      <symbol id="icon-alert" viewBox="0 0 24 24">
        <path d="M12 3.5 2.5 20h19L12 3.5Z" />
        <path d="M12 10v4.5M12 17.2h.01" />
      </symbol>
      <symbol id="icon-event" viewBox="0 0 24 24">
        <circle cx="12" cy="12" r="8.5" />
        <path d="M12 11v5.5M12 7.8h.01" />
      </symbol>
    </svg>
  );
}
