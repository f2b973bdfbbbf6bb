//! Declared schema migrations: an old session type, the conversion to the
//! new one, and the chain from any old schema to the type being loaded.

use std::any::{Any, TypeId};
use std::fmt;

use serde::de::DeserializeOwned;

use crate::codec::envelope::Envelope;
use crate::codec::schema::SchemaId;
use crate::error::{Error, ErrorKind};

type Decode = dyn Fn(&[u8], u8) -> Result<Envelope<Box<dyn Any>>, Error> + Send + Sync;
type Convert = dyn Fn(Box<dyn Any>) -> Option<Box<dyn Any>> + Send + Sync;

/// One declared step `Old → New`.
pub(crate) struct Migration {
    from_type: TypeId,
    from_name: &'static str,
    /// `Old`'s shape id; replaced by its explicit name's id at build time
    /// when it has one.
    from: SchemaId,
    /// `Old`'s id before 0.9 (its shape with type names): what values
    /// sealed then carry. The explicit name's id when it has one.
    from_named: SchemaId,
    to_type: TypeId,
    to_shape: SchemaId,
    decode: Box<Decode>,
    convert: Box<Convert>,
}

impl Migration {
    pub(crate) fn new<Old, New>(f: impl Fn(Old) -> New + Send + Sync + 'static) -> Self
    where
        Old: DeserializeOwned + 'static,
        New: DeserializeOwned + 'static,
    {
        Self {
            from_type: TypeId::of::<Old>(),
            from_name: std::any::type_name::<Old>(),
            from: SchemaId::of::<Old>(),
            from_named: SchemaId::named_shape_of::<Old>(),
            to_type: TypeId::of::<New>(),
            to_shape: SchemaId::of::<New>(),
            decode: Box::new(|plaintext, version| {
                let env = crate::codec::envelope::decode::<Old>(plaintext, version)?;
                Ok(env.map_body(|old| Box::new(old) as Box<dyn Any>))
            }),
            convert: Box::new(move |old| {
                let old = old.downcast::<Old>().ok()?;
                Some(Box::new(f(*old)) as Box<dyn Any>)
            }),
        }
    }
}

/// The migrations a codec knows, checked at build time.
#[derive(Default)]
pub(crate) struct Migrations(Vec<Migration>);

impl Migrations {
    pub(crate) fn push(&mut self, migration: Migration) {
        self.0.push(migration);
    }

    /// Applies explicit schema names and checks that every old schema has
    /// exactly one way forward and differs from its target.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DuplicateMigration`] when two migrations start from one
    /// type or one schema id; [`ErrorKind::MigrationToSameSchema`] when a
    /// migration's old and new types have the same schema id.
    pub(crate) fn resolve(
        mut self,
        named: impl Fn(TypeId) -> Option<SchemaId>,
    ) -> Result<Self, Error> {
        for m in &mut self.0 {
            if let Some(id) = named(m.from_type) {
                m.from = id;
                m.from_named = id;
            }
            let to = named(m.to_type).unwrap_or(m.to_shape);
            if m.from == to {
                return Err(Error::new(ErrorKind::MigrationToSameSchema));
            }
        }
        for (i, a) in self.0.iter().enumerate() {
            if self
                .0
                .iter()
                .skip(i + 1)
                .any(|b| a.from_type == b.from_type || a.from == b.from)
            {
                return Err(Error::new(ErrorKind::DuplicateMigration));
            }
        }
        Ok(self)
    }

    /// Decodes `plaintext`, sealed for `schema` in wire format `version`,
    /// and converts it step by step to a `T`. `None` when no chain of
    /// declared migrations leads from `schema` to `T`.
    pub(crate) fn decode_into<T: 'static>(
        &self,
        schema: SchemaId,
        plaintext: &[u8],
        version: u8,
    ) -> Option<Result<Envelope<T>, Error>> {
        let first = self
            .0
            .iter()
            .find(|m| m.from == schema || m.from_named == schema)?;
        let target = TypeId::of::<T>();
        if !self.leads_to(first, target) {
            return None;
        }
        let env = match (first.decode)(plaintext, version) {
            Ok(env) => env,
            Err(e) => return Some(Err(e)),
        };
        let mut ty = first.from_type;
        let converted = env.try_map_body(|mut value| {
            // Each step consumes one migration; a chain is never longer than
            // the list (`leads_to` checked that it ends at `T`).
            for _ in 0..=self.0.len() {
                if ty == target {
                    return value.downcast::<T>().ok().map(|v| *v);
                }
                let step = self.0.iter().find(|m| m.from_type == ty)?;
                value = (step.convert)(value)?;
                ty = step.to_type;
            }
            None
        });
        Some(converted.ok_or_else(|| Error::new(ErrorKind::Undecodable)))
    }

    /// Whether a chain of declared migrations leads from `schema` to `T`.
    pub(crate) fn leads_from<T: 'static>(&self, schema: SchemaId) -> bool {
        self.0
            .iter()
            .find(|m| m.from == schema || m.from_named == schema)
            .is_some_and(|first| self.leads_to(first, TypeId::of::<T>()))
    }

    /// Whether following migrations from `first` reaches `target`.
    fn leads_to(&self, first: &Migration, target: TypeId) -> bool {
        let mut ty = first.from_type;
        for _ in 0..=self.0.len() {
            if ty == target {
                return true;
            }
            match self.0.iter().find(|m| m.from_type == ty) {
                Some(step) => ty = step.to_type,
                None => return false,
            }
        }
        false
    }
}

impl fmt::Debug for Migrations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|m| (m.from_name, m.from)))
            .finish()
    }
}
