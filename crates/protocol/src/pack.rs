//! Graphene binary serialization (fc "raw pack").
//!
//! Integers are little-endian and fixed width, lengths and counts are LEB128 varints, optionals are
//! a `00`/`01` flag, static variants a varint tag. Structs pack their fields in `FC_REFLECT` order,
//! which the [`graphene_struct!`] macro keeps in one place per type. Decoding is strict: every
//! length is checked against the remaining input before anything is allocated.

use crate::error::{Error, Result};
use crate::keys::AddressPrefix;

/// Appends the Graphene binary form of a value.
pub trait Pack {
    /// Appends `self`'s binary form to `out`.
    fn pack(&self, out: &mut Vec<u8>);

    /// Returns `self`'s binary form as a fresh vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.pack(&mut out);
        out
    }
}

/// Reads a value from its Graphene binary form.
pub trait Unpack: Sized {
    /// Reads one value, advancing the reader.
    fn unpack(r: &mut Reader<'_>) -> Result<Self>;

    /// Decodes a value that must use all of `bytes`; public keys get `prefix` for display.
    fn from_bytes(bytes: &[u8], prefix: AddressPrefix) -> Result<Self> {
        let mut r = Reader::new(bytes, prefix);
        let value = Self::unpack(&mut r)?;
        r.finish()?;
        Ok(value)
    }
}

/// A cursor over binary input. Carries the address prefix that decoded public keys display with,
/// since the wire form of a key has no prefix.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    prefix: AddressPrefix,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8], prefix: AddressPrefix) -> Self {
        Self { buf, pos: 0, prefix }
    }

    /// The address prefix for keys decoded by this reader.
    pub fn prefix(&self) -> AddressPrefix {
        self.prefix
    }

    /// Current offset into the input, in bytes.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes exactly `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(Error::UnexpectedEnd { what, needed: n - self.remaining(), offset: self.pos });
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    /// Takes a fixed-size array.
    pub fn take_array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Reads an unsigned LEB128 varint (fc `unsigned_int`, at most 64 bits).
    pub fn varint(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = self.take(1, "varint")?[0];
            if shift >= 64 || (shift == 63 && byte & 0x7f > 1) {
                return Err(Error::VarintOverflow(start));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// Reads a varint count or length and checks it against the remaining input, assuming each
    /// element takes at least `min_element_size` bytes. Protects against huge allocations.
    pub fn length(&mut self, min_element_size: usize) -> Result<usize> {
        let offset = self.pos;
        let len = self.varint()?;
        let fits = usize::try_from(len)
            .ok()
            .and_then(|n| n.checked_mul(min_element_size.max(1)))
            .is_some_and(|bytes| bytes <= self.remaining());
        if !fits {
            return Err(Error::LengthTooLarge { len, offset });
        }
        // `fits` proved the conversion succeeds.
        Ok(usize::try_from(len).unwrap_or(usize::MAX))
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(Error::TrailingBytes(n)),
        }
    }
}

/// Appends an unsigned LEB128 varint.
pub fn pack_varint(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

macro_rules! impl_fixed_int {
    ($($t:ty),*) => {$(
        impl Pack for $t {
            fn pack(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Unpack for $t {
            fn unpack(r: &mut Reader<'_>) -> Result<Self> {
                Ok(<$t>::from_le_bytes(r.take_array(stringify!($t))?))
            }
        }
    )*};
}
impl_fixed_int!(u8, u16, u32, u64, i64);

impl Pack for bool {
    fn pack(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Unpack for bool {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        let offset = r.position();
        match r.take(1, "bool")?[0] {
            0 => Ok(false),
            1 => Ok(true),
            byte => Err(Error::InvalidBool { byte, offset }),
        }
    }
}

impl Pack for String {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_varint(self.len() as u64, out);
        out.extend_from_slice(self.as_bytes());
    }
}

impl Unpack for String {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        let len = r.length(1)?;
        let offset = r.position();
        let bytes = r.take(len, "string")?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::InvalidUtf8(offset))
    }
}

impl<T: Pack> Pack for Vec<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_varint(self.len() as u64, out);
        for item in self {
            item.pack(out);
        }
    }
}

impl<T: Unpack> Unpack for Vec<T> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        let len = r.length(1)?;
        (0..len).map(|_| T::unpack(r)).collect()
    }
}

impl<T: Pack> Pack for Option<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.pack(out);
            }
        }
    }
}

impl<T: Unpack> Unpack for Option<T> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        if bool::unpack(r)? { Ok(Some(T::unpack(r)?)) } else { Ok(None) }
    }
}

impl<A: Pack, B: Pack> Pack for (A, B) {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
        self.1.pack(out);
    }
}

impl<A: Unpack, B: Unpack> Unpack for (A, B) {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        Ok((A::unpack(r)?, B::unpack(r)?))
    }
}

/// Declares `Pack` and `Unpack` for a struct whose fields are packed in the listed order, the
/// Rust counterpart of `FC_REFLECT(type, (field1)(field2)…)`.
#[macro_export]
macro_rules! graphene_struct {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        impl $crate::pack::Pack for $ty {
            fn pack(&self, out: &mut Vec<u8>) {
                $( $crate::pack::Pack::pack(&self.$field, out); )*
            }
        }
        impl $crate::pack::Unpack for $ty {
            fn unpack(r: &mut $crate::pack::Reader<'_>) -> $crate::error::Result<Self> {
                Ok(Self { $( $field: $crate::pack::Unpack::unpack(r)? ),* })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint_bytes(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        pack_varint(v, &mut out);
        out
    }

    #[test]
    fn varint_matches_leb128_examples() {
        assert_eq!(varint_bytes(0), [0x00]);
        assert_eq!(varint_bytes(127), [0x7f]);
        assert_eq!(varint_bytes(128), [0x80, 0x01]);
        assert_eq!(varint_bytes(34294), [0xf6, 0x8b, 0x02]);
        assert_eq!(varint_bytes(u64::MAX).len(), 10);
    }

    #[test]
    fn varint_round_trips_and_rejects_overflow() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let bytes = varint_bytes(v);
            let mut r = Reader::new(&bytes, AddressPrefix::BTS);
            assert_eq!(r.varint(), Ok(v));
            assert_eq!(r.finish(), Ok(()));
        }
        let too_long = [0xffu8; 11];
        assert_eq!(Reader::new(&too_long, AddressPrefix::BTS).varint(), Err(Error::VarintOverflow(0)));
        let bit_65 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(Reader::new(&bit_65, AddressPrefix::BTS).varint(), Err(Error::VarintOverflow(0)));
    }

    #[test]
    fn huge_length_prefix_is_rejected_before_allocation() {
        let bytes = varint_bytes(u64::MAX);
        let err = Vec::<u64>::from_bytes(&bytes, AddressPrefix::BTS).unwrap_err();
        assert!(matches!(err, Error::LengthTooLarge { .. }), "{err}");
    }

    #[test]
    fn bool_rejects_other_bytes() {
        assert_eq!(bool::from_bytes(&[2], AddressPrefix::BTS), Err(Error::InvalidBool { byte: 2, offset: 0 }));
    }
}
