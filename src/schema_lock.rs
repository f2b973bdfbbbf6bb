//! A lock file of session schemas, checked in the application's own test
//! suite: it fails *before deploy* when the session type changed in a way
//! that old cookies and stored values cannot be opened as, and says what to
//! add.
//!
//! The file lists every schema the application's sessions were ever sealed
//! for (one line each: the schema id and the shape it stands for). The
//! check opens each of them as the current session type, the way a load
//! would: as the type's own schema, as an older definition of it (trailing
//! `#[serde(default)]` fields or enum variants appended since), or through
//! a declared migration. Any it cannot open fails the check with the old
//! shape and the migration to declare. The current schema is added to the
//! file when it is new (commit the file), except on CI, where a file that
//! would change fails instead.
//!
//! # Examples
//!
//! In the application's tests, with the codec its server builds:
//!
//! ```
//! use sealed_session::schema_lock::SchemaLock;
//! use sealed_session::{Codec, Key, KeyRing};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Default)]
//! struct AppSession {
//!     user_id: Option<u64>,
//!     #[serde(default)]
//!     theme: String,
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("lock-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let path = dir.join("session.schema");
//! let codec = Codec::builder(KeyRing::new([Key::generate()])?).build()?;
//! // `path` is e.g. "tests/session.schema", committed with the code.
//! SchemaLock::new(&path).update(true).check::<AppSession>(&codec).unwrap();
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), sealed_session::Error>(())
//! ```

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::codec::schema::describe;
use crate::{Codec, SchemaId};

/// The first lines of a new lock file.
const HEADER: &str = "\
# sealed-session schema lock: every session schema this application's
# cookies and stored values were sealed for, one per line (schema id, then
# its shape). Checked by sealed_session::schema_lock::SchemaLock in the
# tests; commit this file. Delete a line only to sign out its users.
";

/// A schema lock file and how to check it.
#[derive(Debug, Clone)]
pub struct SchemaLock {
    path: PathBuf,
    update: bool,
}

/// What a passing check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockStatus {
    /// Every recorded schema opens, and the current one was recorded.
    Unchanged,
    /// Every recorded schema opens; the current one was new and has been
    /// added to the file (commit it).
    Updated,
}

/// One line of the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedSchema {
    /// The schema id values sealed for it carry.
    pub schema: SchemaId,
    /// The shape it stands for, as recorded.
    pub shape: String,
}

/// Why a check failed.
#[non_exhaustive]
pub enum SchemaLockError {
    /// Recorded schemas the session type cannot open: values sealed for
    /// them would load as fresh sessions (`FreshReason::UnknownSchema`).
    Unreadable {
        /// The lock file.
        path: PathBuf,
        /// The session type's name.
        type_name: &'static str,
        /// Its current shape.
        shape: String,
        /// The recorded schemas it cannot open.
        schemas: Vec<LockedSchema>,
    },
    /// The current schema is not recorded and the check may not write the
    /// file (on CI).
    Outdated {
        /// The lock file.
        path: PathBuf,
        /// The line the file lacks.
        line: String,
    },
    /// A line that is neither a comment nor `<8 hex digits> <shape>`.
    Malformed {
        /// The lock file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
    },
    /// The file could not be read or written.
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
}

impl SchemaLock {
    /// The lock file at `path` (e.g. `tests/session.schema`). It is written
    /// when the current schema is new unless the `CI` environment variable
    /// is set (to anything but the empty string); see
    /// [`SchemaLock::update`].
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            update: std::env::var_os("CI").is_none_or(|v| v.is_empty()),
        }
    }

    /// Whether a new current schema is added to the file (`true`) or fails
    /// the check ([`SchemaLockError::Outdated`]).
    #[must_use]
    pub fn update(mut self, update: bool) -> Self {
        self.update = update;
        self
    }

    /// Checks that `codec` opens every recorded schema as a `T`, and that
    /// the current one is recorded (adding it when allowed).
    ///
    /// # Errors
    ///
    /// [`SchemaLockError::Unreadable`] with the schemas it cannot open and
    /// what to declare; [`SchemaLockError::Outdated`] when the current
    /// schema is new and the file may not be written;
    /// [`SchemaLockError::Malformed`] or [`SchemaLockError::Io`] for the
    /// file itself.
    pub fn check<T: DeserializeOwned + 'static>(
        &self,
        codec: &Codec,
    ) -> Result<LockStatus, SchemaLockError> {
        let io = |source| SchemaLockError::Io {
            path: self.path.clone(),
            source,
        };
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(e)),
        };
        let locked = self.parse(&text)?;
        let shape = describe::<T>();
        let unreadable: Vec<LockedSchema> = locked
            .iter()
            .filter(|l| !codec.opens_schema::<T>(l.schema))
            .cloned()
            .collect();
        if !unreadable.is_empty() {
            return Err(SchemaLockError::Unreadable {
                path: self.path.clone(),
                type_name: std::any::type_name::<T>(),
                shape,
                schemas: unreadable,
            });
        }
        let current = codec.schema_of::<T>();
        if locked.iter().any(|l| l.schema == current) {
            return Ok(LockStatus::Unchanged);
        }
        let line = format!("{current} {shape}\n");
        if !self.update {
            return Err(SchemaLockError::Outdated {
                path: self.path.clone(),
                line,
            });
        }
        let mut text = if text.is_empty() {
            HEADER.to_owned()
        } else {
            text
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        fs::write(&self.path, text).map_err(io)?;
        Ok(LockStatus::Updated)
    }

    /// The recorded schemas.
    fn parse(&self, text: &str) -> Result<Vec<LockedSchema>, SchemaLockError> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, shape) = line.split_once(' ').unwrap_or((line, ""));
            let schema = parse_id(id).ok_or_else(|| SchemaLockError::Malformed {
                path: self.path.clone(),
                line: i + 1,
            })?;
            out.push(LockedSchema {
                schema,
                shape: shape.trim().to_owned(),
            });
        }
        Ok(out)
    }
}

/// A schema id from its eight hex digits.
fn parse_id(hex: &str) -> Option<SchemaId> {
    if hex.len() != 8 || !hex.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 4];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(SchemaId::from_bytes(bytes))
}

impl fmt::Display for SchemaLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable {
                path,
                type_name,
                shape,
                schemas,
            } => {
                writeln!(
                    f,
                    "the session type {type_name} can no longer open values sealed for {} \
                     schema(s) recorded in {}:",
                    schemas.len(),
                    path.display()
                )?;
                for s in schemas {
                    writeln!(f, "  {} {}", s.schema, s.shape)?;
                }
                writeln!(f, "its shape now: {shape}")?;
                write!(
                    f,
                    "users whose cookies carry them would be signed out. Keep the old \
                     definition (under any name) and declare a migration on the codec \
                     builder: .migrate(|old: OldSession| {type_name} {{ .. }}). Appending \
                     fields with #[serde(default)] or enum variants needs none. To sign those \
                     users out on purpose, delete the lines."
                )
            }
            Self::Outdated { path, line } => write!(
                f,
                "the session schema changed and {} does not record it; run the tests \
                 locally (without CI set) and commit the file, or add this line: {}",
                path.display(),
                line.trim_end()
            ),
            Self::Malformed { path, line } => write!(
                f,
                "{}:{line}: expected a comment or `<8 hex digits> <shape>`",
                path.display()
            ),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

/// The message, so that `check(..).unwrap()` in a test prints it whole.
impl fmt::Debug for SchemaLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for SchemaLockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_id;
    use crate::SchemaId;

    #[test]
    fn ids_parse_from_their_display() {
        let id = SchemaId::from_bytes([0xde, 0xad, 0x00, 0x01]);
        assert_eq!(parse_id(&id.to_string()), Some(id));
        for bad in ["", "dead001", "dead00011", "deadg001", "dead\u{e9}01"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
