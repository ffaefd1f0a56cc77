// The sign-in page: posts the token as JSON (with the page's Origin), then goes to the overview.
/// <reference lib="dom" />
import { api, ApiFailure, byId } from './common.js';

const form = byId<HTMLFormElement>('login');
const error = byId('login-error');

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const token = byId<HTMLInputElement>('token').value.trim();
  error.hidden = true;
  api('/login', { token })
    .then(() => {
      window.location.assign('/overview');
    })
    .catch((err: unknown) => {
      error.textContent =
        err instanceof ApiFailure && err.status === 429
          ? 'Too many wrong tokens from this address: wait a minute.'
          : err instanceof Error
            ? err.message
            : String(err);
      error.hidden = false;
    });
});
