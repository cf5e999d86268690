// oidc-provider has no public way to change its signing keys after construction; key-ring.ts calls
// the function its constructor uses (pinned oidc-provider version; covered by test/key-rotation.test.ts).
declare module 'oidc-provider/lib/helpers/initialize_keystore.js' {
  const initializeKeystore: (this: unknown, jwks: { keys: unknown[] }) => void;
  export default initializeKeystore;
}
