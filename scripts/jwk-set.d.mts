export interface Jwk {
  kid: string;
  d?: string;
  [field: string]: unknown;
}
export interface JwkSet {
  keys: Jwk[];
}
export function signingKid(set: JwkSet): string;
export function addKey(set: JwkSet, newKey: Jwk): JwkSet;
export function promoteKey(set: JwkSet, kid: string): JwkSet;
export function retireKeys(set: JwkSet): JwkSet;
export function removeKey(set: JwkSet, kid: string): JwkSet;
export function parseKeySet(json: string): JwkSet;
