//! MongoDB's comparison order for BSON values, so that two `_id`-sorted
//! streams (two servers, or a server and a file) can be merge-joined without
//! holding either in memory. It follows the server's documented order:
//! MinKey < null < numbers < strings < documents < arrays < binary <
//! ObjectId < booleans < dates < timestamps < regexes < MaxKey, numbers
//! compared by value across int32, int64, double and decimal.

use std::cmp::Ordering;

use bson::RawBsonRef;
use bson::raw::{RawArray, RawDocument};

/// The rank of a value's type in MongoDB's comparison order.
fn type_rank(value: &RawBsonRef<'_>) -> u8 {
    match value {
        RawBsonRef::MinKey => 1,
        RawBsonRef::Null | RawBsonRef::Undefined => 2,
        RawBsonRef::Int32(_) | RawBsonRef::Int64(_) | RawBsonRef::Double(_) | RawBsonRef::Decimal128(_) => 3,
        RawBsonRef::Symbol(_) | RawBsonRef::String(_) => 4,
        RawBsonRef::Document(_) => 5,
        RawBsonRef::Array(_) => 6,
        RawBsonRef::Binary(_) => 7,
        RawBsonRef::ObjectId(_) => 8,
        RawBsonRef::Boolean(_) => 9,
        RawBsonRef::DateTime(_) => 10,
        RawBsonRef::Timestamp(_) => 11,
        RawBsonRef::RegularExpression(_) => 12,
        RawBsonRef::DbPointer(_) => 13,
        RawBsonRef::JavaScriptCode(_) => 14,
        RawBsonRef::JavaScriptCodeWithScope(_) => 15,
        RawBsonRef::MaxKey => 16,
    }
}

/// A number as f64 for cross-type comparison. Exact for every int32 and for
/// int64 values below 2^53, which covers every `_id` a real system uses;
/// equal f64s of different integer values fall back to comparing the
/// integers themselves in [`compare_numbers`].
fn as_f64(value: &RawBsonRef<'_>) -> f64 {
    match value {
        RawBsonRef::Int32(number) => f64::from(*number),
        RawBsonRef::Int64(number) => *number as f64,
        RawBsonRef::Double(number) => *number,
        RawBsonRef::Decimal128(number) => number.to_string().parse::<f64>().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

fn compare_numbers(left: &RawBsonRef<'_>, right: &RawBsonRef<'_>) -> Ordering {
    if let (RawBsonRef::Int64(a), RawBsonRef::Int64(b)) = (left, right) {
        return a.cmp(b);
    }
    let (a, b) = (as_f64(left), as_f64(right));
    // MongoDB sorts NaN below every other number and equal to itself.
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
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
        (left, right) if type_rank(&left) == 3 => compare_numbers(&left, &right),
        // MinKey, MaxKey, null: one value each. DbPointer and code with
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
        let mut raws: Vec<RawBson> = values.into_iter().map(raw).collect();
        raws.sort_by(|a, b| compare_values(a.as_raw_bson_ref(), b.as_raw_bson_ref()));
        let ranks: Vec<u8> = raws.iter().map(|value| type_rank(&value.as_raw_bson_ref())).collect();
        assert_eq!(ranks, vec![1, 2, 3, 3, 4, 5, 8, 9, 10, 16]);
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
    fn strings_compare_by_bytes() {
        let upper = raw(Bson::String("Z".into()));
        let lower = raw(Bson::String("a".into()));
        assert_eq!(
            compare_values(upper.as_raw_bson_ref(), lower.as_raw_bson_ref()),
            Ordering::Less
        );
    }
}
