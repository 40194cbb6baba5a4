//! CRC-64 as Go's `hash/crc64` computes it with the ECMA table (reflected
//! polynomial 0xC96C5795D7870F42, initial value and final xor all ones; also
//! known as CRC-64/XZ). mongodump stores it for every namespace of an
//! archive, over the concatenated bytes of the namespace's documents.

/// The reflected ECMA-182 polynomial.
const POLYNOMIAL: u64 = 0xC96C_5795_D787_0F42;

const TABLE: [u64; 256] = build_table();

const fn build_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLYNOMIAL
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
}

/// A running CRC-64/ECMA, fed chunk by chunk.
#[derive(Debug, Clone, Copy, Default)]
pub struct Crc64 {
    /// The CRC of the bytes so far (already finalized, as Go keeps it, so
    /// `value()` needs no extra step).
    value: u64,
}

impl Crc64 {
    /// A CRC over no bytes (zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut crc = !self.value;
        for &byte in bytes {
            crc = TABLE[usize::from((crc as u8) ^ byte)] ^ (crc >> 8);
        }
        self.value = !crc;
    }

    /// The CRC of every byte added so far.
    pub fn value(&self) -> u64 {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_crc64_xz_check_value() {
        let mut crc = Crc64::new();
        crc.update(b"123456789");
        assert_eq!(crc.value(), 0x995D_C9BB_DF19_39FA);
    }

    #[test]
    fn chunking_does_not_change_the_value() {
        let mut whole = Crc64::new();
        whole.update(b"hello, archive");
        let mut parts = Crc64::new();
        parts.update(b"hello, ");
        parts.update(b"");
        parts.update(b"archive");
        assert_eq!(whole.value(), parts.value());
        assert_eq!(Crc64::new().value(), 0);
    }
}
