//! Older definitions of a session type, and arbitrary or truncated payloads
//! sealed under their schema ids (or under an arbitrary schema name), opened
//! as every definition: never a panic; a valid older value opens as every
//! newer definition with the defaults for what it lacked; nothing opens as
//! an older definition, nor under a schema no definition has; an authentic
//! payload that is not a valid value of its schema opens as nothing newer
//! than it did as its own definition.

#![no_main]

use arbitrary::Arbitrary;
use fuzz_support::{codecs, now};
use libfuzzer_sys::fuzz_target;
use sealed_session::{Codec, ErrorKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
enum Plan0 {
    #[default]
    Free,
    Pro(u8),
}

/// `Plan0` with a variant appended.
#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
enum Plan1 {
    #[default]
    Free,
    Pro(u8),
    Team { seats: u32 },
}

#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Limits0 {
    max: u16,
}

/// `Limits0` with a defaulted field appended.
#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Limits1 {
    max: u16,
    #[serde(default)]
    burst: Option<u8>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Def0 {
    user_id: u64,
    plan: Plan0,
}

/// `Def0` with two defaulted fields appended.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Def1 {
    user_id: u64,
    plan: Plan0,
    #[serde(default)]
    name: String,
    #[serde(default)]
    limits: Limits0,
}

/// `Def1` with a field appended, its enum and its nested struct (no longer
/// its last field) grown.
#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Def2 {
    user_id: u64,
    plan: Plan1,
    #[serde(default)]
    name: String,
    #[serde(default)]
    limits: Limits1,
    #[serde(default)]
    seen: Vec<u32>,
}

fn plan_down(plan: &Plan1) -> Plan0 {
    match *plan {
        Plan1::Free | Plan1::Team { .. } => Plan0::Free,
        Plan1::Pro(n) => Plan0::Pro(n),
    }
}

fn plan_up(plan: &Plan0) -> Plan1 {
    match *plan {
        Plan0::Free => Plan1::Free,
        Plan0::Pro(n) => Plan1::Pro(n),
    }
}

/// One definition, to and from the newest.
trait Definition: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + 'static {
    fn down(newest: &Def2) -> Self;
    fn up(&self) -> Def2;
}

impl Definition for Def0 {
    fn down(n: &Def2) -> Self {
        Self {
            user_id: n.user_id,
            plan: plan_down(&n.plan),
        }
    }
    fn up(&self) -> Def2 {
        Def2 {
            user_id: self.user_id,
            plan: plan_up(&self.plan),
            ..Def2::default()
        }
    }
}

impl Definition for Def1 {
    fn down(n: &Def2) -> Self {
        Self {
            user_id: n.user_id,
            plan: plan_down(&n.plan),
            name: n.name.clone(),
            limits: Limits0 { max: n.limits.max },
        }
    }
    fn up(&self) -> Def2 {
        Def2 {
            user_id: self.user_id,
            plan: plan_up(&self.plan),
            name: self.name.clone(),
            limits: Limits1 {
                max: self.limits.max,
                burst: None,
            },
            seen: Vec::new(),
        }
    }
}

impl Definition for Def2 {
    fn down(n: &Def2) -> Self {
        n.clone()
    }
    fn up(&self) -> Def2 {
        self.clone()
    }
}

/// Any bytes as the payload of a value sealed for `T`'s schema: its
/// `Deserialize` (so its schema id) is `T`'s, its encoding the bytes.
struct Disguised<T>(Vec<u8>, std::marker::PhantomData<T>);

impl<T> Serialize for Disguised<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple as _;
        // postcard writes a tuple's `u8`s as they are, with no length.
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for byte in &self.0 {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Disguised<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(|_| Self(Vec::new(), std::marker::PhantomData))
    }
}

#[derive(Arbitrary, Debug)]
enum Payload {
    /// A valid value of the sealing definition.
    Value(Def2),
    /// Its encoding cut short (or not, past its end).
    Truncated(Def2, u16),
    /// Any bytes.
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    codec: u8,
    sealed_as: u8,
    payload: Payload,
    /// Seal under this explicit schema name instead of the shape's id.
    schema_name: Option<String>,
}

/// `T`'s payload for `payload`, and `T`'s value if the payload is one.
fn payload_of<T: Definition>(payload: &Payload) -> (Vec<u8>, Option<T>) {
    let encode = |n: &Def2| postcard::to_stdvec(&T::down(n)).expect("a definition encodes");
    let bytes = match payload {
        Payload::Value(n) => encode(n),
        Payload::Truncated(n, len) => {
            let mut bytes = encode(n);
            bytes.truncate(usize::from(*len));
            bytes
        }
        Payload::Raw(bytes) => bytes.clone(),
    };
    let value = match postcard::take_from_bytes::<T>(&bytes) {
        Ok((value, [])) => Some(value),
        _ => None,
    };
    (bytes, value)
}

/// Seals `input`'s payload for definition `Old` and opens it as every
/// definition (`index`: `Old`'s place among them).
fn check<Old: Definition>(codec: &Codec, index: usize, input: &Input) {
    let (bytes, value) = payload_of::<Old>(&input.payload);
    if matches!(input.payload, Payload::Value(_)) {
        assert!(value.is_some(), "a valid value decodes as itself");
    }
    let disguised = Disguised::<Old>(bytes, std::marker::PhantomData);
    let (codec, named) = match &input.schema_name {
        Some(name) => (
            Codec::builder(codec.ring().clone())
                .cookie_name(codec.cookie_name())
                .schema::<Disguised<Old>>(name)
                .build()
                .expect("settings of a working codec"),
            true,
        ),
        None => (codec.clone(), false),
    };
    let Ok(sealed) = codec.seal(&disguised) else {
        return;
    };
    let value_str = sealed.value();
    for opened_as in 0..3 {
        let opened = match opened_as {
            0 => open::<Def0>(&codec, value_str),
            1 => open::<Def1>(&codec, value_str),
            _ => open::<Def2>(&codec, value_str),
        };
        if named || opened_as < index {
            // Sealed under a name, or for a newer definition: no schema
            // any definition reads.
            assert!(
                matches!(opened, Err(ErrorKind::UnknownSchema { .. })),
                "{opened:?} as {opened_as} of a value sealed for {index} (named: {named})"
            );
        } else if let Some(value) = &value {
            assert_eq!(opened, Ok(value.up()), "as {opened_as} from {index}");
        } else if opened_as == index {
            assert_eq!(opened, Err(ErrorKind::Undecodable));
        } else {
            // Not a value of its own schema: a newer definition may read
            // more (an appended variant), never panics, and says so.
            assert!(
                matches!(opened, Ok(_) | Err(ErrorKind::Undecodable)),
                "{opened:?}"
            );
        }
    }
}

fn open<T: Definition>(codec: &Codec, value: &str) -> Result<Def2, ErrorKind> {
    codec
        .open_at::<T>(value, now())
        .map(|opened| opened.value().up())
        .map_err(|e| e.kind())
}

fuzz_target!(|input: Input| {
    let all = codecs();
    let codec = &all[usize::from(input.codec) % all.len()].0;
    match input.sealed_as % 3 {
        0 => check::<Def0>(codec, 0, &input),
        1 => check::<Def1>(codec, 1, &input),
        _ => check::<Def2>(codec, 2, &input),
    }
});
