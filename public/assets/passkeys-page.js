// @ts-check
// The devices page's passkey parts (markup: src/worker/web/page.tsx): signing in with a passkey
// (autofill on the email field, and a button), the Passkeys section, and the "Confirm it's you"
// prompt shown when the server asks for a recent proof (RFC 9470 `step_up_required`).
// Passkey names are user input: written with textContent only.
import { ApiProblem } from "./sessions-client.js";
import { conditionalMediationAvailable, createPasskey, passkeysSupported, usePasskey } from "./webauthn.js";

/** @template {HTMLElement} T @param {string} id @returns {T} */
const $ = (id) => /** @type {T} */ (document.getElementById(id));
/** @param {HTMLElement} el @param {boolean} visible */
const show = (el, visible) => void (el.hidden = !visible);
/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : "Something went wrong.");
/** The user closed the browser's passkey dialog, or no passkey was there: not worth an alarm. @param {unknown} error */
const dismissed = (error) => error instanceof DOMException && (error.name === "NotAllowedError" || error.name === "AbortError");

const dateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", year: "numeric" });

/** The user stopped a step-up: the action that needed it is not retried. */
export class StepUpCancelled extends Error {
  constructor() {
    super("Not confirmed.");
  }
}

/**
 * @param {{
 *   client: import("./sessions-client.js").SessionsClient;
 *   notify: (text: string, tone?: "info" | "alert") => void;
 *   onSignedIn: () => Promise<void>;
 *   onChanged: () => void;
 *   ago: (at: number) => string;
 * }} page `onChanged`: a passkey was added or removed (the security history has a new entry).
 */
export function setUpPasskeys({ client, notify, onSignedIn, onChanged, ago }) {
  /** @type {any[]} */
  let passkeys = [];
  /** @type {AbortController | null} */
  let conditional = null;

  // ---- signing in ------------------------------------------------------------------------------

  const signInButton = /** @type {HTMLButtonElement} */ ($("passkey-sign-in"));
  show(signInButton, passkeysSupported());

  /** @param {unknown} response */
  async function signInWith(response) {
    const deviceName = String(/** @type {HTMLInputElement} */ ($("device-name")).value ?? "").trim();
    await client.signInWithPasskey(response, deviceName || undefined);
    /** @type {HTMLFormElement} */ ($("auth-form")).reset();
    notify("");
    await onSignedIn();
  }

  /** @param {unknown} error */
  function signInError(error) {
    const el = $("auth-error");
    el.textContent = dismissed(error) ? "No passkey was used." : messageOf(error);
    show(el, true);
  }

  async function signInOptions() {
    const response = await fetch("/v1/auth/passkey/options", { method: "POST", credentials: "same-origin" });
    if (!response.ok) throw new ApiProblem(await response.json());
    return response.json();
  }

  /** Passkeys offered in the email field's autofill while the sign-in form shows; pending until one is picked. */
  async function startConditional() {
    stopConditional();
    if (!(await conditionalMediationAvailable()) || client.signedIn) return;
    const controller = new AbortController();
    conditional = controller;
    try {
      const response = await usePasskey(await signInOptions(), { conditional: true, signal: controller.signal });
      if (controller.signal.aborted) return;
      await signInWith(response);
    } catch (error) {
      // Aborted (a modal request or a password sign-in took over), or no passkey here: stay quiet.
      if (!controller.signal.aborted && !dismissed(error)) signInError(error);
    } finally {
      if (conditional === controller) conditional = null;
    }
  }

  function stopConditional() {
    conditional?.abort();
    conditional = null;
  }

  signInButton.addEventListener("click", async () => {
    show($("auth-error"), false);
    // A pending autofill request would make the browser refuse this one.
    stopConditional();
    try {
      await signInWith(await usePasskey(await signInOptions()));
    } catch (error) {
      signInError(error);
      void startConditional();
    }
  });

  // ---- the Passkeys section --------------------------------------------------------------------

  async function load() {
    const result = await client.api("/v1/passkeys");
    passkeys = Array.isArray(result?.passkeys) ? result.passkeys : [];
    render();
  }

  function render() {
    const list = $("passkey-list");
    const template = /** @type {HTMLTemplateElement} */ ($("passkey-template"));
    list.replaceChildren(
      ...passkeys.map((passkey) => {
        const row = /** @type {HTMLLIElement} */ (template.content.firstElementChild?.cloneNode(true));
        row.dataset.passkeyId = passkey.id;
        fill(row, passkey);
        wire(row, passkey);
        return row;
      }),
    );
    show($("passkeys-empty"), passkeys.length === 0);
  }

  /** @param {HTMLElement} row @param {any} passkey */
  function fill(row, passkey) {
    const text = (/** @type {string} */ selector, /** @type {string} */ value) => {
      const el = row.querySelector(selector);
      if (el) el.textContent = value;
    };
    text(".passkey-name", passkey.name);
    const used = passkey.last_used_at ? `Last used ${ago(Date.parse(passkey.last_used_at))}` : "Not used yet";
    text(".passkey-meta", [`Added ${dateFormat.format(Date.parse(passkey.created_at))}`, used].join(" · "));
    text(".passkey-kind", passkey.backed_up ? "Synced to your other devices" : "On one device or security key");
    row.querySelector(".passkey-rename-button")?.setAttribute("aria-label", `Rename ${passkey.name}`);
    row.querySelector(".passkey-remove-button")?.setAttribute("aria-label", `Remove ${passkey.name}`);
  }

  /** @param {HTMLElement} row @param {any} passkey */
  function wire(row, passkey) {
    const form = /** @type {HTMLFormElement} */ (row.querySelector(".rename"));
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem("name"));
    const renameButton = /** @type {HTMLButtonElement} */ (row.querySelector(".passkey-rename-button"));
    const rowError = /** @type {HTMLElement} */ (row.querySelector(".row-error"));
    const close = () => {
      show(form, false);
      show(renameButton, true);
      renameButton.focus();
    };
    renameButton.addEventListener("click", () => {
      input.value = passkey.name;
      show(form, true);
      show(renameButton, false);
      input.focus();
    });
    form.querySelector(".cancel")?.addEventListener("click", close);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const renamed = await client.api(`/v1/passkeys/${encodeURIComponent(passkey.id)}`, {
          method: "PATCH",
          json: { name: input.value.trim() },
        });
        passkeys = passkeys.map((p) => (p.id === passkey.id ? renamed : p));
        render();
        $("passkeys-title").focus();
      } catch (error) {
        rowError.textContent = messageOf(error);
        show(rowError, true);
      }
    });
    row.querySelector(".passkey-remove-button")?.addEventListener("click", async () => {
      try {
        await withStepUp(() => client.api(`/v1/passkeys/${encodeURIComponent(passkey.id)}`, { method: "DELETE" }));
        notify(`Removed the passkey ${passkey.name}.`);
        onChanged();
        await load();
        $("passkeys-title").focus();
      } catch (error) {
        if (error instanceof StepUpCancelled) return;
        rowError.textContent = messageOf(error);
        show(rowError, true);
      }
    });
  }

  $("add-passkey").addEventListener("click", async () => {
    const error = $("passkeys-error");
    show(error, false);
    try {
      const options = await withStepUp(() => client.api("/v1/passkeys/registration/options", { method: "POST" }));
      const response = await createPasskey(options);
      const added = await client.api("/v1/passkeys", { method: "POST", json: { response } });
      notify(`Added the passkey ${added.name}.`);
      onChanged();
      await load();
    } catch (failure) {
      if (failure instanceof StepUpCancelled) return;
      error.textContent = dismissed(failure) ? "No passkey was added." : messageOf(failure);
      show(error, true);
    }
  });

  // ---- "Confirm it's you" (step-up) --------------------------------------------------------------

  const dialog = /** @type {HTMLDialogElement} */ ($("step-up"));
  const stepUpForm = /** @type {HTMLFormElement} */ ($("step-up-form"));
  const stepUpError = $("step-up-error");
  /** @type {{ resolve: () => void; reject: (error: Error) => void } | null} */
  let pending = null;

  /** Runs an action; if the server asks for a recent proof, asks the user for one, then runs it again. @template T @param {() => Promise<T>} action */
  async function withStepUp(action) {
    try {
      return await action();
    } catch (error) {
      if (!(error instanceof ApiProblem) || error.code !== "step_up_required") throw error;
      await stepUp();
      return action();
    }
  }

  /** @returns {Promise<void>} */
  function stepUp() {
    stepUpForm.reset();
    show(stepUpError, false);
    show($("step-up-passkey"), passkeys.length > 0 && passkeysSupported());
    dialog.showModal();
    return new Promise((resolve, reject) => (pending = { resolve, reject }));
  }

  /** @param {Error | null} failure */
  function finish(failure) {
    const settle = pending;
    pending = null;
    if (dialog.open) dialog.close();
    if (failure) settle?.reject(failure);
    else settle?.resolve();
  }

  /** @param {{ password: string } | { response: unknown }} proof */
  async function confirm(proof) {
    try {
      await client.reauthenticate(proof);
      finish(null);
    } catch (error) {
      stepUpError.textContent =
        error instanceof ApiProblem && error.code === "invalid_credentials"
          ? "That did not confirm it is you. Try again."
          : messageOf(error);
      show(stepUpError, true);
    }
  }

  stepUpForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void confirm({ password: String(new FormData(stepUpForm).get("password") ?? "") });
  });
  $("step-up-passkey").addEventListener("click", async () => {
    try {
      const options = await client.api("/v1/auth/reauthenticate/options", { method: "POST" });
      await confirm({ response: await usePasskey(options) });
    } catch (error) {
      stepUpError.textContent = dismissed(error) ? "No passkey was used." : messageOf(error);
      show(stepUpError, true);
    }
  });
  $("step-up-cancel").addEventListener("click", () => finish(new StepUpCancelled()));
  // Escape closes a modal dialog by itself: that is a cancel too.
  dialog.addEventListener("close", () => pending && finish(new StepUpCancelled()));

  return {
    load,
    /** The sign-in form is showing: offer passkeys in its autofill. */
    signedOut() {
      passkeys = [];
      render();
      if (pending) finish(new StepUpCancelled());
      void startConditional();
    },
    /** Signed in: no autofill request may stay pending. @param {string} email */
    signedIn(email) {
      stopConditional();
      /** @type {HTMLInputElement} */ ($("step-up-username")).value = email;
    },
    stopConditional,
    /** After a failed password sign-in: offer the autofill again. */
    offerAutofill() {
      void startConditional();
    },
  };
}
