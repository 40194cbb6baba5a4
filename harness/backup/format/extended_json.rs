//! Canonical Extended JSON v2, written the way the Go driver's
//! `MarshalExtJSON(value, canonical=true, escapeHTML=false)` writes it,
//! because that is what mongodump puts in `.metadata.json` files and archive
//! preludes, and what mongorestore parses back. Compact, fields in document
//! order, numbers wrapped (`{"$numberInt":"2"}`), doubles formatted like Go's
//! `strconv.FormatFloat(f, 'G', -1, 64)` plus `.0` for integral values.
//!
//! Reading goes through `serde_json` into `bson::Document`, whose visitor
//! understands both canonical and relaxed forms and keeps field order.

use std::fmt::Write;

use bson::raw::{RawBsonRef, RawDocument};

use super::base64;

/// Appends the canonical Extended JSON of a document.
pub(crate) fn write_document(document: &RawDocument, out: &mut String) -> Result<(), bson::error::Error> {
    out.push('{');
    let mut first = true;
    for element in document {
        let (key, value) = element?;
        if !first {
            out.push(',');
        }
        first = false;
        write_string(key.as_str(), out);
        out.push(':');
        write_value(value, out)?;
    }
    out.push('}');
    Ok(())
}

fn write_array(array: &bson::raw::RawArray, out: &mut String) -> Result<(), bson::error::Error> {
    out.push('[');
    let mut first = true;
    for value in array {
        if !first {
            out.push(',');
        }
        first = false;
        write_value(value?, out)?;
    }
    out.push(']');
    Ok(())
}

fn write_wrapped(name: &str, value: &str, out: &mut String) {
    out.push_str("{\"$");
    out.push_str(name);
    out.push_str("\":\"");
    out.push_str(value);
    out.push_str("\"}");
}

fn write_value(value: RawBsonRef<'_>, out: &mut String) -> Result<(), bson::error::Error> {
    match value {
        RawBsonRef::Double(number) => write_wrapped("numberDouble", &format_double(number), out),
        RawBsonRef::String(text) => write_string(text, out),
        RawBsonRef::Array(array) => write_array(array, out)?,
        RawBsonRef::Document(document) => write_document(document, out)?,
        RawBsonRef::Boolean(flag) => out.push_str(if flag { "true" } else { "false" }),
        RawBsonRef::Null => out.push_str("null"),
        RawBsonRef::RegularExpression(regex) => {
            // The Go driver sorts the option letters.
            let mut options: Vec<char> = regex.options.as_str().chars().collect();
            options.sort_unstable();
            let options: String = options.into_iter().collect();
            out.push_str("{\"$regularExpression\":{\"pattern\":");
            write_string(regex.pattern.as_str(), out);
            out.push_str(",\"options\":");
            write_string(&options, out);
            out.push_str("}}");
        }
        RawBsonRef::JavaScriptCode(code) => {
            out.push_str("{\"$code\":");
            write_string(code, out);
            out.push('}');
        }
        RawBsonRef::JavaScriptCodeWithScope(code) => {
            out.push_str("{\"$code\":");
            write_string(code.code, out);
            out.push_str(",\"$scope\":");
            write_document(code.scope, out)?;
            out.push('}');
        }
        RawBsonRef::Int32(number) => write_wrapped("numberInt", &number.to_string(), out),
        RawBsonRef::Int64(number) => write_wrapped("numberLong", &number.to_string(), out),
        RawBsonRef::Timestamp(timestamp) => {
            let _ = write!(
                out,
                "{{\"$timestamp\":{{\"t\":{},\"i\":{}}}}}",
                timestamp.time, timestamp.increment
            );
        }
        RawBsonRef::Binary(binary) => {
            let _ = write!(
                out,
                "{{\"$binary\":{{\"base64\":\"{}\",\"subType\":\"{:02x}\"}}}}",
                base64::standard(binary.bytes),
                u8::from(binary.subtype)
            );
        }
        RawBsonRef::ObjectId(id) => write_wrapped("oid", &id.to_hex(), out),
        RawBsonRef::DateTime(date) => {
            let _ = write!(out, "{{\"$date\":{{\"$numberLong\":\"{}\"}}}}", date.timestamp_millis());
        }
        RawBsonRef::Symbol(symbol) => {
            out.push_str("{\"$symbol\":");
            write_string(symbol, out);
            out.push('}');
        }
        RawBsonRef::Decimal128(number) => write_wrapped("numberDecimal", &number.to_string(), out),
        RawBsonRef::Undefined => out.push_str("{\"$undefined\":true}"),
        RawBsonRef::MaxKey => out.push_str("{\"$maxKey\":1}"),
        RawBsonRef::MinKey => out.push_str("{\"$minKey\":1}"),
        RawBsonRef::DbPointer(pointer) => {
            // bson keeps a pointer's parts private; its serde form (the
            // extended JSON shape) exposes them.
            let converted = serde_json::to_value(pointer).unwrap_or_default();
            let body = &converted["$dbPointer"];
            out.push_str("{\"$dbPointer\":{\"$ref\":");
            write_string(body["$ref"].as_str().unwrap_or_default(), out);
            out.push_str(",\"$id\":");
            write_wrapped("oid", body["$id"]["$oid"].as_str().unwrap_or_default(), out);
            out.push_str("}}");
        }
    }
    Ok(())
}

/// A JSON string as the Go driver escapes it without HTML escaping:
/// quote, backslash and control characters escaped (`\n`, `\r`, `\t`, `\b`,
/// `\f`, others `\u00xx`), U+2028 and U+2029 escaped, everything else raw.
pub(crate) fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            control if u32::from(control) < 0x20 => {
                let _ = write!(out, "\\u00{:02x}", u32::from(control));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

/// Formats a double as Go's `strconv.FormatFloat(f, 'G', -1, 64)` does
/// (shortest round-trip digits; exponent form when the decimal exponent is
/// below -4 or at least 6), then adds `.0` when there is neither a point nor
/// an exponent, as the Go driver does.
pub(crate) fn format_double(number: f64) -> String {
    if number.is_nan() {
        return "NaN".to_owned();
    }
    if number.is_infinite() {
        return if number > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Go.
    let scientific = format!("{:e}", number.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if number.is_sign_negative() { "-" } else { "" };
    // For shortest output Go compares the exponent with a fixed precision
    // of 6, whatever the number of digits.
    let formatted = if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{first}{point}E{exponent_sign}{:02}", exponent.abs())
    } else {
        let point_position = exponent + 1;
        let digit_count = digits.len() as i32;
        if point_position <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-point_position) as usize))
        } else if point_position >= digit_count {
            format!("{sign}{digits}{}", "0".repeat((point_position - digit_count) as usize))
        } else {
            let (whole, fraction) = digits.split_at(point_position as usize);
            format!("{sign}{whole}.{fraction}")
        }
    };
    if formatted.contains('E') || formatted.contains('.') {
        formatted
    } else {
        format!("{formatted}.0")
    }
}

#[cfg(test)]
mod tests {
    use bson::oid::ObjectId;
    use bson::{Binary, DateTime, Regex, Timestamp, doc, spec::BinarySubtype};

    use super::*;

    fn canonical(document: bson::Document) -> String {
        let raw = bson::RawDocumentBuf::try_from(&document).unwrap();
        let mut out = String::new();
        write_document(&raw, &mut out).unwrap();
        out
    }

    #[test]
    fn doubles_match_go_formatting() {
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.5, "0.5"),
            (123456.0, "123456.0"),
            (1234567.0, "1.234567E+06"),
            (1e6, "1E+06"),
            (1e21, "1E+21"),
            (0.0001, "0.0001"),
            (0.00001, "1E-05"),
            (1.5e-7, "1.5E-07"),
            (std::f64::consts::PI, "3.141592653589793"),
            (5e-324, "5E-324"),
            (f64::MAX, "1.7976931348623157E+308"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (number, expected) in cases {
            assert_eq!(format_double(number), expected, "{number:?}");
        }
        assert_eq!(format_double(f64::NAN), "NaN");
    }

    #[test]
    fn strings_are_escaped_like_the_go_driver() {
        let mut out = String::new();
        write_string("a\"b\\c\nd\te\u{1}f<&>ü\u{2028}\u{7f}", &mut out);
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\te\\u0001f<&>ü\\u2028\u{7f}\"");
    }

    #[test]
    fn every_type_has_its_canonical_form() {
        let id = ObjectId::parse_str("0123456789abcdef01234567").unwrap();
        let document = doc! {
            "double": 2.0,
            "string": "text",
            "document": { "nested": 1 },
            "array": [1_i64, "two"],
            "binary": Binary { subtype: BinarySubtype::Uuid, bytes: vec![0xfb, 0xff, 0x00] },
            "id": id,
            "flag": true,
            "date": DateTime::from_millis(1_700_000_000_123),
            "null": null,
            "regex": Regex { pattern: "^a.*".try_into().unwrap(), options: "xi".try_into().unwrap() },
            "int": 7,
            "timestamp": Timestamp { time: 5, increment: 9 },
            "long": 9_000_000_000_i64,
            "empty": {},
            "emptyArray": [],
        };
        assert_eq!(
            canonical(document),
            concat!(
                r#"{"double":{"$numberDouble":"2.0"},"string":"text","document":{"nested":{"$numberInt":"1"}},"#,
                r#""array":[{"$numberLong":"1"},"two"],"binary":{"$binary":{"base64":"+/8A","subType":"04"}},"#,
                r#""id":{"$oid":"0123456789abcdef01234567"},"flag":true,"#,
                r#""date":{"$date":{"$numberLong":"1700000000123"}},"null":null,"#,
                r#""regex":{"$regularExpression":{"pattern":"^a.*","options":"ix"}},"int":{"$numberInt":"7"},"#,
                r#""timestamp":{"$timestamp":{"t":5,"i":9}},"long":{"$numberLong":"9000000000"},"#,
                r#""empty":{},"emptyArray":[]}"#
            )
        );
    }

    #[test]
    fn canonical_output_parses_back_to_the_same_document() {
        let document = doc! {
            "a": 1, "b": 2_i64, "c": -0.0, "d": [ { "e": "f" } ], "g": DateTime::from_millis(-5),
            "z": 1, "y": 2,
        };
        let json = canonical(document.clone());
        let parsed: bson::Document = serde_json::from_str(&json).unwrap();
        assert_eq!(
            bson::RawDocumentBuf::try_from(&parsed).unwrap().as_bytes(),
            bson::RawDocumentBuf::try_from(&document).unwrap().as_bytes()
        );
    }
}
