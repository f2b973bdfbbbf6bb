//! The cookie open pipeline, in its documented order: length cap,
//! base64url into a stack buffer, the AEAD in place, schema (or a declared
//! migration), postcard, then the timeouts.

use serde::de::DeserializeOwned;
use std::mem::MaybeUninit;
use std::time::SystemTime;
use zeroize::Zeroize as _;

use super::envelope::{self, Body, Envelope, SESSION_ID_BYTES, Times, to_secs};
use super::{Codec, Expiry, MAX_RAW_COOKIE_BYTES, Opened, SMALL_RAW_BYTES, SessionId, cookie};
use crate::crypto::legacy_id;
use crate::crypto::seal::{self, OpenedWith, Refusal};
use crate::crypto::wire;
use crate::error::{Error, ErrorKind};

impl Codec {
    /// Opens a cookie value sealed by this codec's cookie name and ring,
    /// checking the timeouts against the current time.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Rejected`] for anything that does not authenticate,
    /// [`ErrorKind::UnknownSchema`] when it authenticates but was sealed for
    /// a schema that is neither `T`'s (or an older definition of `T` with
    /// fewer trailing defaulted fields or variants) nor one a declared
    /// migration leads from, [`ErrorKind::Undecodable`] when it names such
    /// a schema but is not a `T`, [`ErrorKind::Expired`] when it
    /// authenticates but a timeout passed.
    pub fn open<T: DeserializeOwned + 'static>(&self, value: &str) -> Result<Opened<T>, Error> {
        self.open_at(value, SystemTime::now())
    }

    /// As [`Codec::open`], with the clock injected.
    ///
    /// # Errors
    ///
    /// As [`Codec::open`].
    pub fn open_at<T: DeserializeOwned + 'static>(
        &self,
        value: &str,
        now: SystemTime,
    ) -> Result<Opened<T>, Error> {
        let (env, with) = self.open_envelope::<T>(value, now)?;
        match env.body {
            Body::Inline(value) => Ok(Opened::new(
                value,
                Times::from_sealed(env.issued_at, env.renewed_at),
                SessionId::from_bytes(env.session_id),
                env.subject,
                env.expiry.map(Expiry::from_sealed),
                with,
            )),
            // A pointer where a value was asked for: sessions handle
            // pointers; to a caller of this API it is not a `T`.
            Body::Stored(_) => Err(Error::new(ErrorKind::Undecodable)),
        }
    }

    /// Opens a cookie value into an envelope of `T`, on the stack, and checks
    /// the timeouts.
    pub(crate) fn open_envelope<T: DeserializeOwned + 'static>(
        &self,
        value: &str,
        now: SystemTime,
    ) -> Result<(Envelope<T>, OpenedWith), Error> {
        self.try_open_envelope(value.as_bytes(), to_secs(now))
            .map_err(Error::from)
    }

    /// As [`Codec::open_envelope`] at `now` in seconds since the Unix
    /// epoch, telling a value refused by the cheap checks before any
    /// cryptography ([`Failure::Malformed`]) from one that reached the AEAD.
    pub(crate) fn try_open_envelope<T: DeserializeOwned + 'static>(
        &self,
        value: &[u8],
        now: u64,
    ) -> Result<(Envelope<T>, OpenedWith), Failure> {
        self.with_opened_cookie(value, |plaintext, with| {
            self.decode_checked(plaintext, with, now, Deadlines::Both, value)
        })
    }

    /// The decode pipeline up to the AEAD, in its documented order: length
    /// cap, base64url into a stack buffer, open in place. `f` sees the
    /// plaintext and which key opened it; the plaintext is wiped afterwards.
    pub(crate) fn with_opened_cookie<R>(
        &self,
        value: &[u8],
        f: impl FnOnce(&[u8], OpenedWith) -> Result<R, Error>,
    ) -> Result<R, Failure> {
        if cookie::pair_size(&self.inner.name, value.len()) > self.inner.limit {
            return Err(Failure::Malformed);
        }
        if value.len() <= wire::encoded_len(SMALL_RAW_BYTES) {
            self.with_opened_in::<SMALL_RAW_BYTES, R>(value, f)
        } else {
            self.with_opened_in::<MAX_RAW_COOKIE_BYTES, R>(value, f)
        }
    }

    /// [`Codec::with_opened_cookie`] in an `N`-byte stack buffer.
    fn with_opened_in<const N: usize, R>(
        &self,
        value: &[u8],
        f: impl FnOnce(&[u8], OpenedWith) -> Result<R, Error>,
    ) -> Result<R, Failure> {
        // Not zero-filled: the decoder writes every byte it hands back.
        let mut buf = [const { MaybeUninit::<u8>::uninit() }; N];
        let raw = wire::decode_base64(value, &mut buf).ok_or(Failure::Malformed)?;
        let result = match seal::open_in_place(
            &self.inner.ring,
            self.inner.name.as_bytes(),
            raw,
            self.inner.legacy,
        ) {
            Ok((plaintext, with)) => f(plaintext, with).map_err(Failure::Error),
            Err(Refusal::Malformed) => Err(Failure::Malformed),
            Err(Refusal::Unauthentic) => Err(Failure::Error(Error::new(ErrorKind::Rejected))),
        };
        // A slice, not the array: zeroize wipes arrays byte by byte, which
        // cost more than the AEAD.
        raw.zeroize();
        result
    }

    /// The envelope of `T`, from `T`'s own schema or through declared
    /// migrations, with no trailing bytes; then the timeouts. `source` is
    /// what makes the value unique (the cookie value, or a store value's
    /// store id): a version-1 value, which carries no session id, gets one
    /// derived from it. `now` is in seconds since the Unix epoch.
    pub(super) fn decode_checked<T: DeserializeOwned + 'static>(
        &self,
        plaintext: &[u8],
        with: OpenedWith,
        now: u64,
        deadlines: Deadlines,
        source: &[u8],
    ) -> Result<(Envelope<T>, OpenedWith), Error> {
        let version = with.format_version();
        let (env, with) = match with.schema() {
            // Version 1 names no schema (and opens only when allowed).
            None => {
                let mut env = envelope::decode_legacy::<T>(plaintext)?;
                let source = match &env.body {
                    Body::Stored(id) => id.as_slice(),
                    Body::Inline(_) => source,
                };
                env.session_id = self.legacy_session_id(with, source)?;
                (env, with)
            }
            Some(schema) if schema == self.schema_of::<T>() => {
                (envelope::decode::<T>(plaintext, version)?, with)
            }
            // Another schema: a declared migration from it, else an older
            // definition of `T` (fewer trailing defaulted fields or
            // variants, or the id `T` had before 0.9). Either way the value
            // is sealed again under `T`'s own schema on the next save.
            Some(schema) => {
                let env = match self
                    .inner
                    .migrations
                    .decode_into::<T>(schema, plaintext, version)
                {
                    Some(env) => env?,
                    None => match self.reading_of::<T>(schema) {
                        Some(cut) => envelope::decode_cut::<T>(plaintext, version, &cut)?,
                        None => return Err(Error::new(ErrorKind::UnknownSchema { schema })),
                    },
                };
                (env, with.migrated())
            }
        };
        let (idle_deadline, absolute_deadline) = self.deadlines(
            env.issued_at / 1000,
            env.renewed_at,
            env.expiry.map(Expiry::from_sealed),
        );
        let idle_passed = deadlines == Deadlines::Both && now >= idle_deadline;
        if idle_passed || now >= absolute_deadline {
            return Err(Error::new(ErrorKind::Expired));
        }
        Ok((env, with))
    }
}

impl Codec {
    /// The session id of a version-1 value opened with `with` from
    /// `source` (see [`crate::crypto::legacy_id`]): stable for the value.
    pub(crate) fn legacy_session_id(
        &self,
        with: OpenedWith,
        source: &[u8],
    ) -> Result<[u8; SESSION_ID_BYTES], Error> {
        legacy_id::legacy_session_id(&self.inner.ring, with.key_id(), source)
            .ok_or_else(|| Error::new(ErrorKind::Rejected))
    }
}

/// Which deadlines an opened value is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadlines {
    /// Idle and absolute: a cookie (the whole session, or a pointer).
    Both,
    /// Absolute only: a store value, whose pointer cookie carries the
    /// session's renewals (a renewal that only moves the entry's deadline,
    /// [`Store::touch`](crate::store::Store::touch), does not rewrite the
    /// value, so its own renewed-at time lags). The pointer was checked
    /// against both, and the value is bound to it by its store id and
    /// session id.
    AbsoluteOnly,
}

/// A cookie value that did not open.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Refused by the cheap checks before any cryptography: over the length
    /// cap, not base64url, unknown version or algorithm, unknown key id.
    Malformed,
    /// Reached the AEAD (or later) and failed.
    Error(Error),
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Malformed => Error::new(ErrorKind::Rejected),
            Failure::Error(e) => e,
        }
    }
}
