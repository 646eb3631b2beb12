/**
 * The identifiers that cross the boundary: 128 random bits in base64url behind a readable prefix.
 * The patterns are the consumer package's (other Workers check the same ids), re-exported so the
 * service has one home for them.
 */
export { SESSION_ID, USER_ID } from "../../consumer/ids";

/** A security event id (`evt_` + a time-ordered body), as cursors carry it back. */
export const EVENT_ID = /^evt_[A-Za-z0-9_-]{10,60}$/;
