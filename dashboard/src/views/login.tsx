// The login form: a bearer token (kubectl's, a ServiceAccount's, `berth dashboard --url`'s), checked with a
// SelfSubjectReview before it is kept for the session.

import { useState } from 'preact/hooks';
import { ApiFailure, apiJson } from '../api/client.js';
import { setToken } from '../api/token.js';

export interface SelfSubjectReview {
  readonly status?: { readonly userInfo?: { readonly username?: string; readonly groups?: readonly string[] } };
}

export const whoAmI = (token?: string): Promise<SelfSubjectReview> =>
  apiJson<SelfSubjectReview>('/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    method: 'POST',
    ...(token === undefined ? {} : { token }),
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });

export function Login() {
  const [token, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <main class="login">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await whoAmI(token.trim());
            setToken(token.trim());
          } catch (err) {
            setError(
              err instanceof ApiFailure && err.code === 401 ? 'The server does not know this token.' : String(err),
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>berth</h1>
        <p>Sign in with a bearer token. `berth dashboard --url` prints a link that signs you in.</p>
        <label>
          Token
          <input
            type="password"
            name="token"
            autocomplete="off"
            value={token}
            onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
            required
          />
        </label>
        {error === undefined ? null : (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
