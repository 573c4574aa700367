//! What a document may cost before async-graphql parses and validates it. Its parser and
//! validator recurse once per nesting level of lists, objects, selection sets and types, and
//! validation walks fragment spreads expanded: a 4 KB document of 2,000 nested `[` overflowed a
//! worker's stack (an abort, not a panic), and 25 fragments each spreading the next twice took
//! seconds of CPU. So every document is first read here, in time linear in its length and
//! without recursion: a lexical pass bounds nesting (and refuses duplicate input fields, which
//! the parser would silently merge), then, once it parses, one memoized pass over its fragments
//! bounds how deep spreads chain and how many fields they expand to.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Pos, ServerError};

use crate::error::Error;

/// The deepest nesting a document may have: brackets of any kind (`(`, `[`, `{`) inside one
/// another, and, once parsed, selection sets plus the fragment spreads that lead into them.
/// The standard introspection query nests 12; the test at this bound shows it is safe.
pub const MAX_NESTING: usize = 64;

/// A document refused before it could be parsed or validated: a request error, as a parse
/// error is (`BAD_USER_INPUT`, HTTP 400 with `application/graphql-response+json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub message: String,
    pub pos: Option<Pos>,
}

impl Refused {
    fn at(pos: Pos, message: String) -> Self {
        Refused {
            message,
            pos: Some(pos),
        }
    }

    pub fn into_server_error(self) -> ServerError {
        Error::BadUserInput(self.message).into_server_error(self.pos)
    }
}

/// Reads `query` as GraphQL tokens: refuses nesting deeper than [`MAX_NESTING`] and an input
/// object literal that names one field twice ("Input Object Field Uniqueness"). Anything else
/// (including what does not lex) is left for the parser, which can then recurse safely.
pub fn scan(query: &str) -> Result<(), Refused> {
    let bytes = query.as_bytes();
    let mut frames: Vec<Frame> = Vec::new();
    // How many `(` are open: a `{` inside one is an input object, not a selection set.
    let mut parens = 0usize;
    let (mut i, mut line, mut line_start) = (0usize, 1usize, 0usize);
    let pos = |i: usize, line: usize, line_start: usize| Pos {
        line,
        column: query[line_start..i].chars().count() + 1,
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                i += 1;
            }
            b'\r' => {
                if bytes.get(i + 1) != Some(&b'\n') {
                    line += 1;
                    line_start = i + 1;
                }
                i += 1;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                let end = string_end(bytes, i);
                // Block strings may span lines: keep positions right after them.
                for (k, &c) in bytes[i..end].iter().enumerate() {
                    if c == b'\n' {
                        line += 1;
                        line_start = i + k + 1;
                    }
                }
                i = end;
                value_done(&mut frames);
            }
            b'(' | b'[' | b'{' => {
                if frames.len() >= MAX_NESTING {
                    return Err(Refused::at(
                        pos(i, line, line_start),
                        format!(
                            "the document nests deeper than {MAX_NESTING} levels (lists, input \
                             objects, selection sets, types, arguments): refused before parsing"
                        ),
                    ));
                }
                let object = b == b'{' && parens > 0;
                if b == b'(' {
                    parens += 1;
                }
                frames.push(Frame {
                    open: b,
                    keys: object.then(|| Keys {
                        seen: HashSet::new(),
                        expect: Expect::Key,
                    }),
                });
                i += 1;
            }
            b')' | b']' | b'}' => {
                let want = match b {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                // A stray or mismatched bracket is the parser's to report.
                if frames.last().is_some_and(|f| f.open == want) {
                    frames.pop();
                    if b == b')' {
                        parens -= 1;
                    }
                    value_done(&mut frames);
                }
                i += 1;
            }
            b':' => {
                if let Some(keys) = open_object(&mut frames) {
                    if keys.expect == Expect::Colon {
                        keys.expect = Expect::Value;
                    }
                }
                i += 1;
            }
            b'$' => {
                // A variable is a whole value: `$` then its name.
                i += 1;
                while i < bytes.len() && is_name_byte(bytes[i]) {
                    i += 1;
                }
                value_done(&mut frames);
            }
            _ if is_name_start(b) => {
                let start = i;
                while i < bytes.len() && is_name_byte(bytes[i]) {
                    i += 1;
                }
                let at = pos(start, line, line_start);
                if let Some(keys) = open_object(&mut frames) {
                    match keys.expect {
                        Expect::Key => {
                            let name = &query[start..i];
                            if !keys.seen.insert(name.to_owned()) {
                                return Err(Refused::at(
                                    at,
                                    format!("There can be only one input field named \"{name}\"."),
                                ));
                            }
                            keys.expect = Expect::Colon;
                        }
                        Expect::Value => keys.expect = Expect::Key,
                        Expect::Colon => {}
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
                value_done(&mut frames);
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// One open bracket; an input object's also tracks its field names.
struct Frame {
    open: u8,
    keys: Option<Keys>,
}

struct Keys {
    seen: HashSet<String>,
    expect: Expect,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Key,
    Colon,
    Value,
}

/// The innermost frame, if it is an input object.
fn open_object(frames: &mut [Frame]) -> Option<&mut Keys> {
    frames.last_mut().and_then(|f| f.keys.as_mut())
}

/// A value ended: in an input object, the next token is a field name.
fn value_done(frames: &mut [Frame]) {
    if let Some(keys) = open_object(frames) {
        if keys.expect == Expect::Value {
            keys.expect = Expect::Key;
        }
    }
}

fn is_name_start(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic()
}

fn is_name_byte(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

/// The index just past the string that opens at `start` (`"..."` or `"""..."""`), or the end
/// of the text if it never closes.
fn string_end(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return bytes.len();
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            // A plain string ends at its line; the parser reports it unterminated.
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Bounds what `doc`'s fragment spreads expand to, counting each fragment once (memoized, as
/// graphql-js's validation does): refuses a spread cycle, spreads chained deeper than
/// [`MAX_NESTING`], an operation that expands to more than `max_fields` fields, and a document
/// whose operations together expand to more than ten times that.
pub fn check_expansion(doc: &ExecutableDocument, max_fields: usize) -> Result<(), Refused> {
    let mut walk = Walk {
        doc,
        memo: HashMap::new(),
    };
    let mut total = 0usize;
    for (_, op) in doc.operations.iter() {
        let (fields, _) = walk.set(&op.node.selection_set.node, 0)?;
        if fields > max_fields {
            return Err(Refused::at(
                op.pos,
                format!(
                    "the operation is too complex: it selects {} fields once its fragments are expanded; at most \
                     {max_fields} are allowed (--max-complexity)",
                    fields_text(fields)
                ),
            ));
        }
        total = total.saturating_add(fields);
    }
    let max_total = max_fields.saturating_mul(10);
    if total > max_total {
        return Err(Refused {
            message: format!(
                "the document's operations select {} fields once their fragments are expanded; \
                 at most {max_total} together",
                fields_text(total)
            ),
            pos: None,
        });
    }
    // Fragments no operation uses are validation errors, but validation still walks them.
    for (name, fragment) in &doc.fragments {
        walk.fragment(name.as_str(), fragment.pos, 0)?;
    }
    Ok(())
}

fn fields_text(n: usize) -> String {
    if n == usize::MAX {
        "more than 18 quintillion".to_owned()
    } else {
        n.to_string()
    }
}

/// A fragment's expansion: how many fields, and how deep (selection sets plus spreads).
#[derive(Clone, Copy)]
enum State {
    InProgress,
    Done(usize, usize),
}

struct Walk<'d> {
    doc: &'d ExecutableDocument,
    memo: HashMap<&'d str, State>,
}

impl<'d> Walk<'d> {
    /// (fields, depth) of a selection set met at nesting `level`.
    fn set(&mut self, set: &'d SelectionSet, level: usize) -> Result<(usize, usize), Refused> {
        let mut fields = 0usize;
        let mut depth = 0usize;
        for item in &set.items {
            let (f, d) = match &item.node {
                Selection::Field(field) => {
                    let (f, d) = self.set(&field.node.selection_set.node, level + 1)?;
                    (f.saturating_add(1), d + 1)
                }
                Selection::InlineFragment(inline) => {
                    let (f, d) = self.set(&inline.node.selection_set.node, level + 1)?;
                    (f, d + 1)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let (f, d) = self.fragment(name, item.pos, level + 1)?;
                    (f, d + 1)
                }
            };
            fields = fields.saturating_add(f);
            depth = depth.max(d);
        }
        if level + depth > MAX_NESTING {
            return Err(too_deep(set.items.first().map(|i| i.pos)));
        }
        Ok((fields, depth))
    }

    fn fragment(
        &mut self,
        name: &'d str,
        at: Pos,
        level: usize,
    ) -> Result<(usize, usize), Refused> {
        if level > MAX_NESTING {
            return Err(too_deep(Some(at)));
        }
        match self.memo.get(name) {
            Some(State::Done(f, d)) => return Ok((*f, *d)),
            Some(State::InProgress) => {
                return Err(Refused::at(
                    at,
                    format!("Cannot spread fragment \"{name}\" within itself."),
                ))
            }
            None => {}
        }
        // An unknown fragment is validation's to report; it expands to nothing here.
        let Some((key, fragment)) = self.doc.fragments.get_key_value(name) else {
            return Ok((0, 0));
        };
        self.memo.insert(key.as_str(), State::InProgress);
        let (f, d) = self.set(&fragment.node.selection_set.node, level)?;
        self.memo.insert(key.as_str(), State::Done(f, d));
        Ok((f, d))
    }
}

fn too_deep(pos: Option<Pos>) -> Refused {
    Refused {
        message: format!(
            "selection sets and the fragment spreads leading into them nest deeper than \
             {MAX_NESTING} levels"
        ),
        pos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).unwrap()
    }

    fn fan_out(levels: usize) -> String {
        let mut q = "{ ...L0 }".to_owned();
        for i in 0..levels {
            q += &format!(" fragment L{i} on Query {{ ...L{n} ...L{n} }}", n = i + 1);
        }
        q + &format!(" fragment L{levels} on Query {{ __typename }}")
    }

    #[test]
    fn refuses_lists_nested_past_the_bound_before_parsing() {
        let deep = |n: usize| {
            format!(
                "{{ rooms(features: {}\"a\"{}) {{ id }} }}",
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        // `{`, `(`, then the lists.
        assert_eq!(scan(&deep(MAX_NESTING - 2)), Ok(()));
        let refused = scan(&deep(100_000)).unwrap_err();
        assert!(
            refused.message.contains("nests deeper than 64"),
            "{refused:?}"
        );
        // The 63rd `[`: column 19 + 62.
        assert_eq!(
            refused.pos,
            Some(Pos {
                line: 1,
                column: 81
            })
        );
    }

    #[test]
    fn refuses_deep_objects_types_and_selections() {
        let n = 10_000;
        let object = format!(
            "{{ rooms(features: {}1{}) {{ id }} }}",
            "{a:".repeat(n),
            "}".repeat(n)
        );
        let ty = format!(
            "query($v: {}String{}) {{ rooms {{ id }} }}",
            "[".repeat(n),
            "]".repeat(n)
        );
        let selections = format!("{}{}", "{ a ".repeat(n), "}".repeat(n));
        for q in [object, ty, selections] {
            assert!(scan(&q).is_err());
        }
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let q = format!(
            "{{ rooms(features: [\"{0}\", \"\"\"{0}\"\"\"]) {{ id }} }} # {0}\n",
            "[".repeat(1000)
        );
        assert_eq!(scan(&q), Ok(()));
        assert_eq!(scan(r#"{ rooms(features: ["\"[[["]) { id } }"#), Ok(()));
    }

    #[test]
    fn refuses_an_input_object_that_names_a_field_twice() {
        let q = r#"mutation { createRoom(input: {name: "a", name: "b", capacity: 1}) { name } }"#;
        let refused = scan(q).unwrap_err();
        assert_eq!(
            refused.message,
            "There can be only one input field named \"name\"."
        );
        // Same names in sibling or nested objects, and aliases in selections, are fine.
        let fine = r#"mutation { a: createRoom(input: {name: "a", place: {name: "x", name2: [1, {name: 2}]}, capacity: $c}) { a: name a: name } }"#;
        assert_eq!(scan(fine), Ok(()));
        let in_default = r#"query($i: RoomInput = {name: "a", name: "b"}) { rooms { id } }"#;
        assert!(scan(in_default).is_err());
    }

    #[test]
    fn counts_each_fragment_once() {
        let refused = check_expansion(&parse(&fan_out(64)), 1000).unwrap_err();
        assert!(
            refused.message.contains("more than 18 quintillion")
                || refused.message.contains("nest deeper"),
            "{refused:?}"
        );
        let refused = check_expansion(&parse(&fan_out(25)), 1000).unwrap_err();
        assert!(refused.message.contains("33554432 fields"), "{refused:?}");
        assert_eq!(check_expansion(&parse(&fan_out(9)), 1000), Ok(()));
        assert!(check_expansion(&parse(&fan_out(10)), 1000).is_err());
    }

    #[test]
    fn refuses_spread_cycles_and_long_chains() {
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        let refused = check_expansion(&parse(cycle), 1000).unwrap_err();
        assert!(
            refused.message.starts_with("Cannot spread fragment"),
            "{refused:?}"
        );
        let mut chain = "{ ...F0 }".to_owned();
        for i in 0..2000 {
            chain += &format!(" fragment F{i} on Query {{ ...F{} }}", i + 1);
        }
        chain += " fragment F2000 on Query { __typename }";
        assert!(check_expansion(&parse(&chain), 1000)
            .unwrap_err()
            .message
            .contains("nest deeper"));
    }
}
