export function newSigningKey(kid?: string): Record<string, string>;
export function newSecrets(kid?: string): { JWT_SIGNING_KEYS: string; REFRESH_TOKEN_SECRET: string };
export function newAdminToken(): string;
