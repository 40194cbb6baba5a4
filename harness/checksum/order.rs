//! MongoDB's comparison order for BSON values, so that two `_id`-sorted
//! streams (two servers, or a server and a file) can be merge-joined without
//! holding either in memory. It follows the server's documented order:
//! MinKey < undefined < null < numbers < strings < documents < arrays < binary <
//! ObjectId < booleans < dates < timestamps < regexes < MaxKey, numbers
//! compared by value across int32, int64, double and decimal (integers
//! against doubles exactly).

use std::cmp::Ordering;

use bson::RawBsonRef;
use bson::raw::{RawArray, RawDocument};

/// The rank of a value's type in MongoDB's comparison order: the server's
/// own canonical numbers (`canonicalizeBSONType`, shifted by one to stay
/// unsigned). Undefined ranks just below null, as on the server; the gaps
/// do not matter, only the order.
fn type_rank(value: &RawBsonRef<'_>) -> u8 {
    match value {
        RawBsonRef::MinKey => 0,
        RawBsonRef::Undefined => 1,
        RawBsonRef::Null => 6,
        RawBsonRef::Int32(_) | RawBsonRef::Int64(_) | RawBsonRef::Double(_) | RawBsonRef::Decimal128(_) => 11,
        RawBsonRef::Symbol(_) | RawBsonRef::String(_) => 16,
        RawBsonRef::Document(_) => 21,
        RawBsonRef::Array(_) => 26,
        RawBsonRef::Binary(_) => 31,
        RawBsonRef::ObjectId(_) => 36,
        RawBsonRef::Boolean(_) => 41,
        RawBsonRef::DateTime(_) => 46,
        RawBsonRef::Timestamp(_) => 48,
        RawBsonRef::RegularExpression(_) => 51,
        RawBsonRef::DbPointer(_) => 56,
        RawBsonRef::JavaScriptCode(_) => 61,
        RawBsonRef::JavaScriptCodeWithScope(_) => 66,
        RawBsonRef::MaxKey => 128,
    }
}

/// The rank numbers share: every number type compares with every other.
const NUMBER_RANK: u8 = 11;

/// A number as f64 for comparisons involving Decimal128, which FerretDB
/// cannot store and no real `_id` uses; every other pair compares exactly.
fn as_f64(value: &RawBsonRef<'_>) -> f64 {
    match value {
        RawBsonRef::Int32(number) => f64::from(*number),
        RawBsonRef::Int64(number) => *number as f64,
        RawBsonRef::Double(number) => *number,
        RawBsonRef::Decimal128(number) => number.to_string().parse::<f64>().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

fn as_i64(value: &RawBsonRef<'_>) -> Option<i64> {
    match value {
        RawBsonRef::Int32(number) => Some(i64::from(*number)),
        RawBsonRef::Int64(number) => Some(*number),
        _ => None,
    }
}

/// Doubles in MongoDB's order: NaN below every other number and equal to
/// itself, -0.0 equal to 0.0.
fn compare_doubles(left: f64, right: f64) -> Ordering {
    match (left.is_nan(), right.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => left.partial_cmp(&right).unwrap_or(Ordering::Equal),
    }
}

/// An integer against a double without rounding the integer to f64, which
/// would make 2^53 + 1 equal 2^53 (the server compares exactly too).
fn compare_integer_double(integer: i64, double: f64) -> Ordering {
    // 2^63: the first double above every i64.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if double.is_nan() {
        return Ordering::Greater;
    }
    if double >= TWO_POW_63 {
        return Ordering::Less;
    }
    if double < -TWO_POW_63 {
        return Ordering::Greater;
    }
    // In range, so the truncation is exact; the fraction breaks ties.
    integer
        .cmp(&(double.trunc() as i64))
        .then_with(|| 0.0.partial_cmp(&double.fract()).unwrap_or(Ordering::Equal))
}

fn compare_numbers(left: &RawBsonRef<'_>, right: &RawBsonRef<'_>) -> Ordering {
    match (as_i64(left), as_i64(right), left, right) {
        (Some(a), Some(b), _, _) => a.cmp(&b),
        (Some(a), None, _, RawBsonRef::Double(b)) => compare_integer_double(a, *b),
        (None, Some(b), RawBsonRef::Double(a), _) => compare_integer_double(b, *a).reverse(),
        _ => compare_doubles(as_f64(left), as_f64(right)),
    }
}

/// Compares two BSON values in MongoDB's order.
pub fn compare_values(left: RawBsonRef<'_>, right: RawBsonRef<'_>) -> Ordering {
    let rank = type_rank(&left).cmp(&type_rank(&right));
    if rank != Ordering::Equal {
        return rank;
    }
    match (left, right) {
        (RawBsonRef::String(a) | RawBsonRef::Symbol(a), RawBsonRef::String(b) | RawBsonRef::Symbol(b)) => {
            a.as_bytes().cmp(b.as_bytes())
        }
        (RawBsonRef::Document(a), RawBsonRef::Document(b)) => compare_documents(a, b),
        (RawBsonRef::Array(a), RawBsonRef::Array(b)) => compare_arrays(a, b),
        (RawBsonRef::Binary(a), RawBsonRef::Binary(b)) => a
            .bytes
            .len()
            .cmp(&b.bytes.len())
            .then(u8::from(a.subtype).cmp(&u8::from(b.subtype)))
            .then_with(|| a.bytes.cmp(b.bytes)),
        (RawBsonRef::ObjectId(a), RawBsonRef::ObjectId(b)) => a.bytes().cmp(&b.bytes()),
        (RawBsonRef::Boolean(a), RawBsonRef::Boolean(b)) => a.cmp(&b),
        (RawBsonRef::DateTime(a), RawBsonRef::DateTime(b)) => a.timestamp_millis().cmp(&b.timestamp_millis()),
        (RawBsonRef::Timestamp(a), RawBsonRef::Timestamp(b)) => a.time.cmp(&b.time).then(a.increment.cmp(&b.increment)),
        (RawBsonRef::RegularExpression(a), RawBsonRef::RegularExpression(b)) => a
            .pattern
            .as_str()
            .as_bytes()
            .cmp(b.pattern.as_str().as_bytes())
            .then_with(|| a.options.as_str().as_bytes().cmp(b.options.as_str().as_bytes())),
        (RawBsonRef::JavaScriptCode(a), RawBsonRef::JavaScriptCode(b)) => a.as_bytes().cmp(b.as_bytes()),
        (left, right) if type_rank(&left) == NUMBER_RANK => compare_numbers(&left, &right),
        // MinKey, MaxKey, null, undefined: one value each. DbPointer and code with
        // scope never appear as `_id`s in practice; treat them as equal.
        _ => Ordering::Equal,
    }
}

/// Compares two documents element by element: type rank, then field name,
/// then value; a document that is a prefix of the other sorts first.
pub fn compare_documents(left: &RawDocument, right: &RawDocument) -> Ordering {
    let mut left_iter = left.iter();
    let mut right_iter = right.iter();
    loop {
        match (left_iter.next(), right_iter.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(Ok((left_key, left_value))), Some(Ok((right_key, right_value)))) => {
                let order = type_rank(&left_value)
                    .cmp(&type_rank(&right_value))
                    .then_with(|| left_key.as_str().as_bytes().cmp(right_key.as_str().as_bytes()))
                    .then_with(|| compare_values(left_value, right_value));
                if order != Ordering::Equal {
                    return order;
                }
            }
            // A malformed element cannot be ordered; the byte comparison
            // keeps the order total and deterministic.
            _ => return left.as_bytes().cmp(right.as_bytes()),
        }
    }
}

fn compare_arrays(left: &RawArray, right: &RawArray) -> Ordering {
    let mut left_iter = left.into_iter();
    let mut right_iter = right.into_iter();
    loop {
        match (left_iter.next(), right_iter.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(Ok(a)), Some(Ok(b))) => {
                let order = compare_values(a, b);
                if order != Ordering::Equal {
                    return order;
                }
            }
            _ => return left.as_bytes().cmp(right.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{Bson, RawBson, oid::ObjectId};

    fn raw(value: Bson) -> RawBson {
        RawBson::try_from(value).unwrap()
    }

    #[test]
    fn mixed_types_sort_in_server_order() {
        let values = vec![
            Bson::MaxKey,
            Bson::DateTime(bson::DateTime::from_millis(5)),
            Bson::Boolean(false),
            Bson::ObjectId(ObjectId::from_bytes([1; 12])),
            Bson::Document(bson::doc! {"a": 1}),
            Bson::String("b".into()),
            Bson::Double(2.5),
            Bson::Int32(1),
            Bson::Null,
            Bson::MinKey,
        ];
        let expected: Vec<RawBson> = values.iter().rev().cloned().map(raw).collect();
        let mut raws: Vec<RawBson> = values.into_iter().map(raw).collect();
        raws.sort_by(|a, b| compare_values(a.as_raw_bson_ref(), b.as_raw_bson_ref()));
        assert_eq!(raws, expected);
    }

    #[test]
    fn numbers_compare_by_value_across_types() {
        let one = raw(Bson::Int32(1));
        let one_and_half = raw(Bson::Double(1.5));
        let two = raw(Bson::Int64(2));
        assert_eq!(
            compare_values(one.as_raw_bson_ref(), one_and_half.as_raw_bson_ref()),
            Ordering::Less
        );
        assert_eq!(
            compare_values(two.as_raw_bson_ref(), one_and_half.as_raw_bson_ref()),
            Ordering::Greater
        );
        let one_long = raw(Bson::Int64(1));
        assert_eq!(
            compare_values(one.as_raw_bson_ref(), one_long.as_raw_bson_ref()),
            Ordering::Equal
        );
    }

    #[test]
    fn undefined_sorts_below_null_and_timestamps_after_dates() {
        let undefined = raw(Bson::Undefined);
        let null = raw(Bson::Null);
        assert_eq!(
            compare_values(undefined.as_raw_bson_ref(), null.as_raw_bson_ref()),
            Ordering::Less
        );
        let date = raw(Bson::DateTime(bson::DateTime::from_millis(i64::MAX)));
        let timestamp = raw(Bson::Timestamp(bson::Timestamp { time: 0, increment: 0 }));
        assert_eq!(
            compare_values(date.as_raw_bson_ref(), timestamp.as_raw_bson_ref()),
            Ordering::Less
        );
    }

    #[test]
    fn large_integers_compare_exactly_with_doubles() {
        let two_pow_53 = 9_007_199_254_740_992_i64;
        let cases = [
            (
                Bson::Int64(two_pow_53 + 1),
                Bson::Double(two_pow_53 as f64),
                Ordering::Greater,
            ),
            (
                Bson::Double(two_pow_53 as f64),
                Bson::Int64(two_pow_53 + 1),
                Ordering::Less,
            ),
            (
                Bson::Int64(two_pow_53),
                Bson::Double(two_pow_53 as f64),
                Ordering::Equal,
            ),
            (Bson::Int64(i64::MAX), Bson::Double(9.3e18), Ordering::Less),
            (Bson::Int64(i64::MIN), Bson::Double(-9.3e18), Ordering::Greater),
            (Bson::Int32(2), Bson::Double(2.5), Ordering::Less),
            (Bson::Int32(-2), Bson::Double(-2.5), Ordering::Greater),
            (Bson::Int32(-2), Bson::Double(-2.0), Ordering::Equal),
            (Bson::Int64(i64::MIN), Bson::Double(f64::NAN), Ordering::Greater),
            (Bson::Double(f64::NAN), Bson::Double(f64::NEG_INFINITY), Ordering::Less),
            (Bson::Double(-0.0), Bson::Int32(0), Ordering::Equal),
        ];
        for (left, right, expected) in cases {
            let (left_raw, right_raw) = (raw(left.clone()), raw(right.clone()));
            assert_eq!(
                compare_values(left_raw.as_raw_bson_ref(), right_raw.as_raw_bson_ref()),
                expected,
                "{left} vs {right}"
            );
        }
    }

    #[test]
    fn strings_compare_by_bytes() {
        let upper = raw(Bson::String("Z".into()));
        let lower = raw(Bson::String("a".into()));
        assert_eq!(
            compare_values(upper.as_raw_bson_ref(), lower.as_raw_bson_ref()),
            Ordering::Less
        );
    }
}
