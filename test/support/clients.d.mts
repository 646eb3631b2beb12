export function newIntrospectionClient(): { INTROSPECTION_CLIENTS: string; TEST_INTROSPECTION_CLIENT: { id: string; secret: string } };
