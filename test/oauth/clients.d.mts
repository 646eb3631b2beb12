export const TEST_CLIENT: { id: string; secret: string };
export const TEST_INTROSPECTION_CLIENTS: string;
