// har-validator ships no types: the one call the tests make. It resolves with the document
// when it passes the HAR 1.2 schema and rejects with the schema errors when it does not.
declare module 'har-validator' {
  const validator: { har(data: unknown): Promise<unknown> };
  export default validator;
}
