import { iso } from "../../contract/session";

/** The contract's `User`. */
export function userJson(user: { id: string; email: string; createdAt: number }) {
  return { id: user.id, email: user.email, created_at: iso(user.createdAt) };
}
