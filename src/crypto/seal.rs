//! Sealing and opening raw bytes under a key ring: the wire format joined to
//! the AEAD seam.

use crate::crypto::algorithm::Algorithm;
use crate::crypto::cipher::{Cipher, Fresh, Refused, TAG_BYTES};
use crate::crypto::key::KeyId;
use crate::crypto::ring::KeyRing;
use crate::crypto::wire::{self, HEADER_BYTES, Header, SchemaId};
use crate::error::{Error, ErrorKind};

/// Longest context (cookie name, or cookie name, zero byte and store id)
/// bound into the associated data.
pub(crate) const MAX_CONTEXT_BYTES: usize = 320;

/// Which key opened a value, and for which schema it was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenedWith {
    key_id: KeyId,
    algorithm: Algorithm,
    primary: bool,
    version: u8,
    schema: Option<SchemaId>,
    migrated: bool,
}

impl OpenedWith {
    /// The id of the key that opened the value.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The algorithm the value was sealed with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Whether that key is the ring's primary key. When it is not, the value
    /// should be re-sealed with the primary key (sessions do this on the
    /// response), so a rotation completes as users return.
    pub fn is_primary(&self) -> bool {
        self.primary
    }

    /// The wire format version of the value ([`FORMAT_VERSION`]; 2 for a
    /// value of the previous version; 1 for a legacy value the codec was
    /// allowed to open).
    ///
    /// [`FORMAT_VERSION`]: crate::FORMAT_VERSION
    pub fn format_version(&self) -> u8 {
        self.version
    }

    /// The schema the value was sealed for; `None` for a version-1 value,
    /// which names none.
    pub fn schema(&self) -> Option<SchemaId> {
        self.schema
    }

    /// Whether the value was sealed for an older schema and converted by a
    /// declared migration.
    pub fn is_migrated(&self) -> bool {
        self.migrated
    }

    /// Whether the value should be sealed again even if nothing changed: it
    /// was opened with a non-primary key, converted by a migration, or is in
    /// an older wire format. Sessions do this on the response.
    pub fn needs_reseal(&self) -> bool {
        !self.primary || self.migrated || self.version != wire::FORMAT_VERSION
    }

    /// The same, marked as converted by a migration.
    pub(crate) fn migrated(self) -> Self {
        Self {
            migrated: true,
            ..self
        }
    }
}

fn rejected() -> Error {
    Error::new(ErrorKind::Rejected)
}

/// Builds `header || context` on the stack; `None` when the context is
/// longer than [`MAX_CONTEXT_BYTES`].
fn aad<'b>(
    header: &Header,
    context: &[u8],
    out: &'b mut [u8; HEADER_BYTES + MAX_CONTEXT_BYTES],
) -> Option<&'b [u8]> {
    let header = header.as_bytes();
    let len = header.len() + context.len();
    let dst = out.get_mut(..len)?;
    let (h, rest) = dst.split_at_mut(header.len());
    h.copy_from_slice(header);
    rest.copy_from_slice(context);
    Some(dst)
}

/// Seals in place with the ring's primary key, for `schema`.
///
/// `buf` holds `wire::prefix_len(primary algorithm)` bytes of room, then
/// `plaintext_len` bytes of plaintext, then at least 16 bytes of room for the
/// tag. Returns the sealed length. On error the plaintext may still be in
/// `buf`: the caller wipes it.
pub(crate) fn seal_in_place(
    ring: &KeyRing,
    schema: SchemaId,
    context: &[u8],
    buf: &mut [u8],
    plaintext_len: usize,
) -> Result<usize, Error> {
    seal_in_place_drawing(ring, schema, context, buf, plaintext_len, Fresh::none())
}

/// [`seal_in_place`], drawing `fresh` (a new session id the plaintext was
/// serialized without) with the nonce, under one process check, and
/// copying it into the plaintext before it is encrypted.
pub(crate) fn seal_in_place_drawing(
    ring: &KeyRing,
    schema: SchemaId,
    context: &[u8],
    buf: &mut [u8],
    plaintext_len: usize,
    fresh: Fresh<'_>,
) -> Result<usize, Error> {
    let key = ring.primary();
    let header = Header::new(key.algorithm, key.id, schema);
    let mut aad_buf = [0u8; HEADER_BYTES + MAX_CONTEXT_BYTES];
    let aad = aad(&header, context, &mut aad_buf).ok_or_else(serialize_error)?;
    let prefix = header.prefix_len();
    let total = prefix + plaintext_len + TAG_BYTES;
    let buf = buf.get_mut(..total).ok_or_else(serialize_error)?;
    let (head, rest) = buf.split_at_mut(prefix);
    let (header_dst, nonce) = head.split_at_mut(HEADER_BYTES);
    header_dst.copy_from_slice(header.as_bytes());
    let (body, tag_dst) = rest.split_at_mut(plaintext_len);
    let tag = seal_fresh(&key.cipher, nonce, aad, body, fresh).map_err(|_| serialize_error())?;
    tag_dst.copy_from_slice(&tag);
    Ok(total)
}

/// Seals `body` in place under a fresh nonce, which the cipher draws into
/// `nonce` from the crate's fork-safe generator (for XAES-256-GCM, half of
/// it per sealing epoch; see [`Cipher::seal_in_place`]), together with
/// `fresh`.
///
/// In this crate's own unit tests only, a nonce fixed by [`fix_nonce`] is
/// used instead, so frozen test vectors can be sealed to exact strings.
fn seal_fresh(
    cipher: &Cipher,
    nonce: &mut [u8],
    aad: &[u8],
    body: &mut [u8],
    fresh: Fresh<'_>,
) -> Result<[u8; TAG_BYTES], Refused> {
    #[cfg(test)]
    if let Some(fixed) = FIXED_NONCE.with(std::cell::Cell::get) {
        nonce
            .iter_mut()
            .zip(fixed)
            .for_each(|(dst, src)| *dst = src);
        crate::crypto::random::fill(fresh.bytes);
        fresh.place(body)?;
        return cipher.seal_in_place_with_nonce(nonce, aad, body);
    }
    cipher.seal_in_place(nonce, aad, body, fresh)
}

#[cfg(test)]
thread_local! {
    /// The nonce seals on this thread use instead of random ones (the first
    /// 12 bytes for AES-256-GCM).
    static FIXED_NONCE: std::cell::Cell<Option<[u8; 24]>> = const { std::cell::Cell::new(None) };
}

/// Makes seals on this thread use `nonce` (its first 12 bytes for
/// AES-256-GCM) until the returned guard is dropped. Unit tests only: the
/// library never seals with anything but a random nonce.
#[cfg(test)]
#[must_use = "the nonce is fixed only while the guard lives"]
pub(crate) fn fix_nonce(nonce: [u8; 24]) -> FixedNonce {
    FIXED_NONCE.with(|fixed| fixed.set(Some(nonce)));
    FixedNonce(())
}

/// Restores random nonces on this thread when dropped.
#[cfg(test)]
pub(crate) struct FixedNonce(());

#[cfg(test)]
impl Drop for FixedNonce {
    fn drop(&mut self) {
        FIXED_NONCE.with(|fixed| fixed.set(None));
    }
}

fn serialize_error() -> Error {
    Error::new(ErrorKind::Serialize)
}

/// Why a value did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Refused by cheap checks before any cryptography: too short, unknown
    /// version or algorithm, legacy version not allowed, or a key id the
    /// ring does not hold.
    Malformed,
    /// The AEAD refused it.
    Unauthentic,
}

impl From<Refusal> for Error {
    fn from(_: Refusal) -> Self {
        rejected()
    }
}

/// Authenticates and decrypts a sealed value in place; returns the
/// plaintext (a sub-slice of `raw`) and which key opened it. Version-1
/// values open only when `legacy` is true.
pub(crate) fn open_in_place<'a>(
    ring: &KeyRing,
    context: &[u8],
    raw: &'a mut [u8],
    legacy: bool,
) -> Result<(&'a mut [u8], OpenedWith), Refusal> {
    let parts = wire::split(raw).ok_or(Refusal::Malformed)?;
    let header = parts.header;
    if header.version == wire::LEGACY_VERSION && !legacy {
        return Err(Refusal::Malformed);
    }
    let (entry, primary) = ring
        .find(header.algorithm, header.key_id)
        .ok_or(Refusal::Malformed)?;
    let mut aad_buf = [0u8; HEADER_BYTES + MAX_CONTEXT_BYTES];
    let aad = aad(&header, context, &mut aad_buf).ok_or(Refusal::Malformed)?;
    entry
        .cipher
        .open_in_place(parts.nonce, aad, parts.body, parts.tag)
        .map_err(|_| Refusal::Unauthentic)?;
    Ok((
        parts.body,
        OpenedWith {
            key_id: entry.id,
            algorithm: entry.algorithm,
            primary,
            version: header.version,
            schema: header.schema,
            migrated: false,
        },
    ))
}
