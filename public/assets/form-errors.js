// @ts-check
// Errors next to the field they are about, in sentences that name the field and the rule. Each is
// tied to its input (aria-invalid, aria-describedby) and cleared as soon as the input changes or
// the form succeeds; nothing lingers from an earlier attempt.
import { ApiProblem } from "./sessions-client.js";

/** @param {HTMLInputElement} input */
function errorElementOf(input) {
  const id = `${input.id || `${input.form?.id ?? "form"}-${input.name}`}-error`;
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement("span");
    el.id = id;
    el.className = "error field-error";
    // Under the input (inside its label for the inline rename forms).
    input.insertAdjacentElement("afterend", el);
  }
  return el;
}

/** Shows `message` under `input` until its value changes. @param {HTMLInputElement} input @param {string} message */
export function fieldError(input, message) {
  const el = errorElementOf(input);
  el.textContent = message;
  el.hidden = false;
  input.setAttribute("aria-invalid", "true");
  const described = new Set((input.getAttribute("aria-describedby") ?? "").split(/\s+/).filter(Boolean));
  described.add(el.id);
  input.setAttribute("aria-describedby", [...described].join(" "));
  input.addEventListener("input", () => clearFieldError(input), { once: true });
}

/** @param {HTMLInputElement} input */
export function clearFieldError(input) {
  const el = document.getElementById(`${input.id || `${input.form?.id ?? "form"}-${input.name}`}-error`);
  if (el) el.hidden = true;
  input.removeAttribute("aria-invalid");
}

/** Clears every field error of a form, and its form-level message. @param {HTMLFormElement} form @param {HTMLElement} [formError] */
export function clearErrors(form, formError) {
  for (const input of form.querySelectorAll("input")) clearFieldError(input);
  if (formError) formError.hidden = true;
}

/**
 * A refusal as a sentence for the field it is about, or for the form. `fields` maps the API's
 * field names (`validation_failed` errors) to the form's inputs and their labels.
 * @param {unknown} error @param {Record<string, { input: HTMLInputElement; label: string }>} fields
 * @returns {{ input: HTMLInputElement; message: string } | null} null when no field is to blame
 */
export function fieldOf(error, fields) {
  if (!(error instanceof ApiProblem) || error.code !== "validation_failed") return null;
  for (const { field, message } of error.errors) {
    const target = fields[field];
    if (target) return { input: target.input, message: `${target.label} ${message.replace(/^./, (c) => c.toLowerCase())}.` };
  }
  return null;
}

/** A refusal the form shows as a whole: the server's sentence where it has one. @param {unknown} error @param {string} fallback */
export function formMessage(error, fallback) {
  if (error instanceof ApiProblem && error.code === "rate_limited") return "Too many tries. Wait a minute, then try again.";
  if (error instanceof ApiProblem && (error.code === "registry_unavailable" || error.code === "service_unavailable"))
    return "The service is not answering right now. Try again in a moment.";
  return error instanceof Error && error.message ? error.message : fallback;
}
