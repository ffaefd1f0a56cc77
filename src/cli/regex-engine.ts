// The regex engine policy as the `fleetban` executable sees it: V8's linear-time fallback, turned on before any filter exists.
export { enableLinearRegex } from '../core/linear-regex.js';
