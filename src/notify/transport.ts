// The mail transport contract: how the outbox hands a rendered message to SMTP or sendmail.

/** A message ready to go. */
export interface OutgoingMail {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /**
   * Message-ID derived from the outbox record(s) it carries, so a message sent again after a
   * crash between "sent" and "marked done" has the same ID and can be recognised as a duplicate.
   */
  readonly messageId: string;
}

/** What the receiving server said. */
export interface SendReceipt {
  readonly messageId: string;
  readonly accepted: readonly string[];
  readonly rejected: readonly string[];
  /** The server's final answer, e.g. `250 2.0.0 Ok: queued as 4F2A1`; '' for sendmail. */
  readonly response: string;
}

/**
 * Sends mail. `send` resolves once the server accepted the message for at least one recipient,
 * and rejects otherwise with a FleetbanError MAIL_FAILED whose message says what went wrong
 * (connection refused, TLS, authentication, rejected recipients) and never holds a secret.
 * A transport does not retry: the outbox owns retries and backoff. `close` is idempotent.
 */
export interface MailTransport {
  /** One line naming where mail goes, without secrets: `smtp mail.example.net:587 (STARTTLS)`. */
  describe(): string;
  send(mail: OutgoingMail): Promise<SendReceipt>;
  close(): void;
}
