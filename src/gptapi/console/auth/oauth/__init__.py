"""Sign-in with Google, GitHub, Facebook and Indeed (authorization code + PKCE)."""
