// What mail is made of: the rendered message and what the renderer needs (the notice itself is core's `Notice`).

/** A mail ready for a transport: a plain-text part and an HTML part saying the same. */
export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** What the renderer needs besides the notices; fixed in tests so golden files stay stable. */
export interface RenderContext {
  /** IANA zone for the times shown ('UTC', 'Europe/Berlin'); '' = the machine's zone. */
  readonly timeZone: string;
  /** The fleetban box's host name, named in the signature. */
  readonly hostname: string;
}
