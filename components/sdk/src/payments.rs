//! Brightpearl customer payments posted once each, in multi-message batches
//! (`POST /multi-message`, up to [`MULTI_MESSAGE_MAX`] messages, SEQUENTIAL/CONTINUE), on the
//! flow engine's write protocol: attempt marker `attempt:payment:<transactionRef>` before
//! each write, lookup by `transactionRef` (customer-payment-search) after an unknown
//! outcome or a crash, link `link:payment:<transactionRef>` → payment id. Any flow posting
//! customer payments (orders' receipts, refunds' refund payments) uses [`PaymentPoster`];
//! the run summary counts `payments_posted`.
//!
//! Source: brightpearl-api.md (multi-message, customer-payment, customer-payment-search).

use crate::brightpearl::{self, CustomerPayment, MULTI_MESSAGE_MAX};
use crate::capabilities::ApiError;
use crate::engine::{Cx, Key, Stop, is_rejection};
use crate::types::{Level, SendError, System};

/// The state key of customer payment `p`: `…:payment:<transactionRef>`.
pub fn payment_key(p: &CustomerPayment) -> Key {
    Key::new(System::Brightpearl, "payment", &p.transaction_ref)
}

/// The host refused the request (WIT `send-error::denied`): it was never sent.
fn is_denied(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Send {
            error: SendError::Denied(_),
            ..
        }
    )
}

/// How one queued payment ended.
#[derive(Debug)]
pub enum Sent {
    /// Linked (posted now, or found by transactionRef after an unknown outcome or a
    /// refusal of a repeated transactionRef).
    Linked,
    /// Brightpearl rejected it (4xx): the message names the transactionRef and the
    /// server's error.
    Rejected(String),
    /// A retryable or unknown failure (or 401/403): its attempt marker, when kept, makes the
    /// next run search by transactionRef first.
    Failed(ApiError),
}

/// One payment sent by [`PaymentPoster::flush`], with its owner.
#[derive(Debug)]
pub struct Settled {
    pub owner: u64,
    pub payment: CustomerPayment,
    pub sent: Sent,
}

struct Job {
    owner: u64,
    payment: CustomerPayment,
}

/// Queued customer payments of one run.
#[derive(Default)]
pub struct PaymentPoster {
    queue: Vec<Job>,
    /// The multi-message endpoint answered 404 (or is denied): single POSTs for the rest
    /// of the run.
    multi_message_missing: bool,
}

impl PaymentPoster {
    pub fn new() -> Self {
        Self::default()
    }

    /// The payments not linked yet. One whose earlier attempt has an unknown outcome (its
    /// `attempt:payment:` marker is left) is looked up by `transactionRef` first and linked
    /// when found.
    pub fn unlinked(
        &self,
        cx: &Cx,
        payments: Vec<CustomerPayment>,
    ) -> Result<Vec<CustomerPayment>, Stop> {
        let mut out = Vec::new();
        for p in payments {
            let key = payment_key(&p);
            if cx.linked(&key)?.is_some() {
                continue;
            }
            if cx.has_attempt(&key)
                && let Some(found) = self.find(cx, &p)?
            {
                cx.link(&key, found);
                continue;
            }
            out.push(p);
        }
        Ok(out)
    }

    /// The id of the customer payment with `p`'s `transactionRef` (and payment method, when
    /// the search gives it), via customer-payment-search.
    fn find(&self, cx: &Cx, p: &CustomerPayment) -> Result<Option<u64>, ApiError> {
        Ok(brightpearl::Client::new(cx.api)
            .payments_by_transaction_ref(&p.transaction_ref)?
            .into_iter()
            .find(|m| {
                m.payment_method_code.is_empty()
                    || m.payment_method_code
                        .eq_ignore_ascii_case(&p.payment_method_code)
            })
            .map(|m| m.payment_id))
    }

    /// Brightpearl answered a 4xx (not 401/403) to payment `p`, single POST or multi-message
    /// message. A repeated `transactionRef` is refused (e.g. `ACCC-021` after the state was
    /// lost), so it is looked up by `transactionRef` (customer-payment-search) first: found on
    /// `p`'s sales order (same payment method) → linked, no exception; else rejected, with
    /// the server's error code and message (and the order a found payment belongs to).
    fn after_rejection(&mut self, cx: &Cx, p: &CustomerPayment, e: ApiError) -> Sent {
        let key = payment_key(p);
        cx.forget_attempt(&key);
        let found = match brightpearl::Client::new(cx.api)
            .payments_by_transaction_ref(&p.transaction_ref)
        {
            Ok(found) => found,
            Err(se) => return Sent::Failed(se),
        };
        let same_method = |m: &&brightpearl::PaymentMatch| {
            m.payment_method_code.is_empty()
                || m.payment_method_code
                    .eq_ignore_ascii_case(&p.payment_method_code)
        };
        if let Some(m) = found
            .iter()
            .filter(same_method)
            .find(|m| m.order_id == p.order_id || m.order_id == 0)
        {
            cx.link(&key, m.payment_id);
            cx.log(
                Level::Info,
                &format!(
                    "customer payment {} is already in Brightpearl as payment {} on sales order {}: linked ({e})",
                    p.transaction_ref, m.payment_id, p.order_id
                ),
            );
            return Sent::Linked;
        }
        let elsewhere = match found.iter().find(same_method) {
            Some(m) => format!(
                " (transactionRef {} is payment {} on sales order {})",
                p.transaction_ref, m.payment_id, m.order_id
            ),
            None => String::new(),
        };
        Sent::Rejected(format!("{}: {e}{elsewhere}", p.transaction_ref))
    }

    /// Queue `payments` of `owner` (e.g. a BigCommerce order id) for the next batch.
    pub fn queue(&mut self, owner: u64, payments: Vec<CustomerPayment>) {
        self.queue
            .extend(payments.into_iter().map(|payment| Job { owner, payment }));
    }

    /// Send the queued payments in batches of [`MULTI_MESSAGE_MAX`]: only full batches, or
    /// everything when `all` (the end of the run); how each one ended, in queue order.
    /// Nothing is sent once the run is stopping: a 401/403 stops it ([`Cx::stop`]) and the
    /// payments not sent stay queued (their owners keep their own markers).
    pub fn flush(&mut self, cx: &mut Cx, all: bool) -> Vec<Settled> {
        let mut out = vec![];
        while !cx.stopping()
            && (self.queue.len() >= MULTI_MESSAGE_MAX || (all && !self.queue.is_empty()))
        {
            let n = self.queue.len().min(MULTI_MESSAGE_MAX);
            let batch: Vec<Job> = self.queue.drain(..n).collect();
            let sent = self.send_batch(cx, &batch);
            for (job, sent) in batch.into_iter().zip(sent) {
                if let Sent::Failed(e) = &sent
                    && let Some(message) = e.credentials_problem()
                {
                    cx.stop(message);
                }
                out.push(Settled {
                    owner: job.owner,
                    payment: job.payment,
                    sent,
                });
            }
        }
        out
    }

    /// Post one batch of payments and link each one by its transaction.
    /// - One payment: a plain POST ([`Self::send_single`]).
    /// - Several: `POST /multi-message` (SEQUENTIAL, CONTINUE). Each reply is linked,
    ///   rejected (4xx) or left pending (5xx, undecodable, not processed).
    /// - Unknown outcome of the whole request: each payment is looked up by `transactionRef`;
    ///   the ones not found stay pending with their attempt markers (searched again before
    ///   the next POST).
    /// - The endpoint fails as a whole (400/404/5xx, or the host denies the path): single
    ///   POSTs for this batch (and, after a 404 or a denial, for the rest of the run), after a
    ///   search for each payment when a 5xx may hide a partial commit.
    /// - Throttled, timed out, not sent: every payment stays pending.
    fn send_batch(&mut self, cx: &mut Cx, batch: &[Job]) -> Vec<Sent> {
        if batch.len() == 1 || self.multi_message_missing {
            return self.send_singles(cx, batch, false);
        }
        let bp = brightpearl::Client::new(cx.api);
        let labels: Vec<String> = batch
            .iter()
            .enumerate()
            .map(|(i, j)| format!("pay-{}-{}", i + 1, j.payment.transaction_ref))
            .collect();
        let messages: Vec<brightpearl::Message> = batch
            .iter()
            .zip(&labels)
            .map(|(j, label)| brightpearl::customer_payment_message(label, &j.payment))
            .collect();
        for j in batch {
            cx.mark_attempt(&payment_key(&j.payment), "customer-payment");
        }
        match bp.multi_message(&messages) {
            Ok(resp) => batch
                .iter()
                .zip(&labels)
                .map(|(j, label)| {
                    let key = payment_key(&j.payment);
                    let what = format!(
                        "POST /accounting-service/customer-payment (multi-message {label})"
                    );
                    match resp.processed.iter().find(|m| &m.label == label) {
                        Some(reply) => match reply.created_id(&what) {
                            Ok(pid) => {
                                cx.link(&key, pid);
                                cx.count("payments_posted");
                                Sent::Linked
                            }
                            Err(e) if e.credentials_problem().is_some() => {
                                cx.forget_attempt(&key);
                                Sent::Failed(e)
                            }
                            Err(e) if is_rejection(&e) => self.after_rejection(cx, &j.payment, e),
                            // 5xx/429 in the message, or a 2xx whose id cannot be read: the
                            // marker stays, so the next run searches first.
                            Err(e) => Sent::Failed(e),
                        },
                        None => {
                            let not_run = resp.unprocessed.contains(label);
                            if not_run {
                                cx.forget_attempt(&key);
                            }
                            Sent::Failed(ApiError::Decode {
                                what,
                                message: if not_run {
                                    "listed in unprocessedMessages".into()
                                } else {
                                    "missing from the multi-message response".into()
                                },
                            })
                        }
                    }
                })
                .collect(),
            Err(e) if e.is_outcome_unknown() => batch
                .iter()
                .map(|j| {
                    let key = payment_key(&j.payment);
                    match self.find(cx, &j.payment) {
                        Ok(Some(pid)) => {
                            cx.link(&key, pid);
                            cx.count("payments_posted");
                            Sent::Linked
                        }
                        Ok(None) => Sent::Failed(e.clone()),
                        Err(se) => Sent::Failed(se),
                    }
                })
                .collect(),
            Err(e) if matches!(e.status(), Some(400 | 404) | Some(500..)) || is_denied(&e) => {
                let maybe_committed = e.status().is_some_and(|s| s >= 500);
                if e.status() == Some(404) || is_denied(&e) {
                    self.multi_message_missing = true;
                }
                cx.log(
                    Level::Warn,
                    &format!(
                        "multi-message failed ({e}); posting its {} payments one by one",
                        batch.len()
                    ),
                );
                self.send_singles(cx, batch, maybe_committed)
            }
            Err(e) => batch
                .iter()
                .map(|j| {
                    // Not sent (throttled, timeout, transport, denied) or refused as a whole.
                    cx.forget_attempt(&payment_key(&j.payment));
                    Sent::Failed(e.clone())
                })
                .collect(),
        }
    }

    /// The batch's payments one by one ([`Self::send_single`]), each looked up by
    /// `transactionRef` first when `search_first` (a failed multi-message may have committed
    /// them). After a 401/403 the rest are not sent (they fail with the same error).
    fn send_singles(&mut self, cx: &mut Cx, batch: &[Job], search_first: bool) -> Vec<Sent> {
        let mut refused: Option<ApiError> = None;
        let mut out = Vec::with_capacity(batch.len());
        for j in batch {
            if let Some(e) = &refused {
                cx.forget_attempt(&payment_key(&j.payment));
                out.push(Sent::Failed(e.clone()));
                continue;
            }
            let sent = self.send_one(cx, &j.payment, search_first);
            if let Sent::Failed(e) = &sent
                && e.credentials_problem().is_some()
            {
                refused = Some(e.clone());
            }
            out.push(sent);
        }
        out
    }

    fn send_one(&mut self, cx: &mut Cx, p: &CustomerPayment, search_first: bool) -> Sent {
        let key = payment_key(p);
        if search_first {
            match self.find(cx, p) {
                Ok(Some(pid)) => {
                    cx.link(&key, pid);
                    cx.count("payments_posted");
                    return Sent::Linked;
                }
                Ok(None) => {}
                Err(se) => return Sent::Failed(se),
            }
            cx.forget_attempt(&key);
        }
        self.send_single(cx, p)
    }

    /// One `POST /accounting-service/customer-payment`, with its attempt marker; after an
    /// unknown outcome the payment is looked up by `transactionRef`.
    fn send_single(&mut self, cx: &mut Cx, p: &CustomerPayment) -> Sent {
        let bp = brightpearl::Client::new(cx.api);
        let key = payment_key(p);
        cx.mark_attempt(&key, "customer-payment");
        match bp.create_customer_payment(p) {
            Ok(pid) => {
                cx.link(&key, pid);
                cx.count("payments_posted");
                Sent::Linked
            }
            Err(e) if e.is_outcome_unknown() => match self.find(cx, p) {
                Ok(Some(pid)) => {
                    cx.link(&key, pid);
                    cx.count("payments_posted");
                    Sent::Linked
                }
                Ok(None) => Sent::Failed(e),
                Err(se) => Sent::Failed(se),
            },
            Err(e) if e.credentials_problem().is_some() => {
                cx.forget_attempt(&key);
                Sent::Failed(e)
            }
            Err(e) if is_rejection(&e) => self.after_rejection(cx, p, e),
            Err(e) => Sent::Failed(e),
        }
    }
}
