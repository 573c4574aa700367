//! Parsed operations, kept by query text: clients send the same few operations over and over,
//! and parsing one costs more than the database work of a booking (measured:
//! docs/design.md, Performance). async-graphql executes a request's pre-parsed document as is.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{Positioned, Request, ServerError, ValidatedDocument, Value, Variables};

use super::guard::{self, Refused};
use super::AppSchema;
use crate::config::Limits;

/// A bounded cache of parsed documents, and the one door every document goes through before
/// execution (HTTP and WebSocket alike): the guard's bounds, parsing, aliases. When full the
/// cache starts over, so its size never grows past `capacity` documents of at most
/// `MAX_QUERY_BYTES` each.
///
/// A document that passes the schema's validation is kept validated: executing it again then
/// checks only what its variables can change (async-graphql's `validate_document`, part of the
/// vendored patch), instead of every rule on every request.
pub struct Documents {
    docs: Mutex<HashMap<String, Kept>>,
    capacity: usize,
    limits: DocumentLimits,
    /// The schema documents are validated for; none: kept only parsed.
    schema: Option<AppSchema>,
    /// Documents named by their hash (automatic persisted queries).
    persisted: super::Persisted,
}

/// How many documents named by hash are kept unless `--persisted-cache-size` says otherwise.
pub const DEFAULT_PERSISTED: usize = 10_000;

/// A document in the cache.
#[derive(Clone)]
enum Kept {
    /// Valid for the schema, as far as variables' values do not decide.
    Validated(ValidatedDocument),
    /// Parsed; execution validates it (and reports why it is invalid, if it is).
    Parsed(ExecutableDocument),
}

impl Kept {
    fn give_to(self, request: &mut Request) {
        match self {
            Kept::Validated(doc) => request.set_validated_query(doc),
            Kept::Parsed(doc) => request.set_parsed_query(doc),
        }
    }
}

/// What one document may hold.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    /// Most fields an operation may select with its fragments expanded (`--max-complexity`).
    pub max_fields: usize,
    /// Most aliased fields (`--max-aliases`).
    pub max_aliases: usize,
}

impl From<&Limits> for DocumentLimits {
    fn from(limits: &Limits) -> Self {
        DocumentLimits {
            max_fields: limits.max_complexity,
            max_aliases: limits.max_aliases,
        }
    }
}

impl Documents {
    /// Longer query texts are parsed each time, never kept.
    pub const MAX_QUERY_BYTES: usize = 8 * 1024;

    /// A cache of `capacity` documents validated for `schema` (none: kept parsed only).
    pub fn new(capacity: usize, limits: DocumentLimits, schema: Option<AppSchema>) -> Self {
        Documents {
            docs: Mutex::new(HashMap::new()),
            capacity,
            limits,
            schema,
            persisted: super::Persisted::new(DEFAULT_PERSISTED),
        }
    }

    /// Keeps at most `n` documents named by their hash (`--persisted-cache-size`).
    pub fn with_persisted_capacity(mut self, n: usize) -> Self {
        self.persisted = super::Persisted::new(n);
        self
    }

    /// Knows the operator's trusted documents (`--trusted-documents`); call after
    /// `with_persisted_capacity`.
    pub fn with_trusted(mut self, trusted: Option<super::Trusted>) -> Self {
        self.persisted = self.persisted.with_trusted(trusted);
        self
    }

    /// Readies `request` for execution: gives it its parsed document (from the cache, or
    /// freshly parsed and then kept) once the guard has bounded what parsing and validating it
    /// can cost, counts its aliases, and checks that every required variable has a value. A
    /// document named by hash is looked up first, and with `--trusted-documents-only` only
    /// trusted ones pass unless the caller is `admin`. A refusal is a request error: nothing
    /// runs. A query that does not parse is left for execution to report (parsing it again is
    /// as safe).
    pub fn admit(&self, request: &mut Request, admin: bool) -> Result<(), ServerError> {
        self.persisted.resolve(request, admin)?;
        // Moved out while the document borrows the request, and back (no copies).
        let variables = std::mem::take(&mut request.variables);
        let operation_name = request.operation_name.take();
        let admitted = self.admit_parsed(request, operation_name.as_deref(), &variables);
        request.variables = variables;
        request.operation_name = operation_name;
        admitted
    }

    fn admit_parsed(
        &self,
        request: &mut Request,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), ServerError> {
        let doc = self.prepare(request).map_err(Refused::into_server_error)?;
        let aliases = doc.map_or(0, count_aliases);
        if aliases > self.limits.max_aliases {
            let message = too_many_aliases(aliases, self.limits.max_aliases);
            return Err(Refused { message, pos: None }.into_server_error());
        }
        match doc.and_then(|d| operation(d, operation_name)) {
            Some((_, op)) => required_variables_given(op, variables),
            None => Ok(()),
        }
    }

    fn prepare<'r>(
        &self,
        request: &'r mut Request,
    ) -> Result<Option<&'r ExecutableDocument>, Refused> {
        let cacheable = request.query.len() <= Self::MAX_QUERY_BYTES;
        if cacheable {
            let cached = self.lock().get(&request.query).cloned();
            if let Some(kept) = cached {
                kept.give_to(request);
                return Ok(request.parsed_query().ok());
            }
        }
        guard::scan(&request.query)?;
        let Ok(doc) = request.parsed_query() else {
            return Ok(None);
        };
        guard::check_expansion(doc, self.limits.max_fields)?;
        if cacheable {
            // Validated after the guard, as execution would: within the same bounds.
            let kept = match self.schema.as_ref().map(|s| s.validate_document(doc)) {
                Some(Ok(validated)) => Kept::Validated(validated),
                _ => Kept::Parsed(doc.clone()),
            };
            {
                let mut docs = self.lock();
                if docs.len() >= self.capacity {
                    docs.clear();
                }
                docs.insert(request.query.clone(), kept.clone());
            }
            kept.give_to(request);
        }
        Ok(request.parsed_query().ok())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        // The map holds no invariant a panic could break: recover from poisoning.
        self.docs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The refusal of an operation with `n` aliases where `max` are allowed.
fn too_many_aliases(n: usize, max: usize) -> String {
    format!("the operation has {n} aliases; at most {max} are allowed")
}

impl Default for Documents {
    fn default() -> Self {
        Documents::new(512, DocumentLimits::from(&Limits::default()), None)
    }
}

/// The operation of `doc` that `operation_name` selects (or the only one), if any.
pub fn selected_operation<'d>(
    doc: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'d str>, OperationType)> {
    operation(doc, operation_name).map(|(name, op)| (name, op.node.ty))
}

/// The operation of `doc` a request names (or the only one), with its name if it has one.
fn operation<'d>(
    doc: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'d str>, &'d Positioned<OperationDefinition>)> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some((None, op)),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get_key_value(name)
            .map(|(n, op)| (Some(n.as_str()), op)),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(n, op)| (Some(n.as_str()), op))
        }
        _ => None,
    }
}

/// The specification's CoerceVariableValues (6.1.2): a variable of a Non-Null type without a
/// default must be given a value, and not `null`; otherwise the request is refused before
/// anything runs (async-graphql would only fail the fields that read it).
fn required_variables_given(
    op: &Positioned<OperationDefinition>,
    variables: &Variables,
) -> Result<(), ServerError> {
    for def in &op.node.variable_definitions {
        let def = &def.node;
        if def.var_type.node.nullable || def.default_value.is_some() {
            continue;
        }
        if matches!(variables.get(&def.name.node), None | Some(Value::Null)) {
            let message = format!(
                "variable `${}` of required type `{}` was not given a value",
                def.name.node, def.var_type.node
            );
            return Err(Refused {
                message,
                pos: Some(def.name.pos),
            }
            .into_server_error());
        }
    }
    Ok(())
}

/// How many fields of `doc` carry an alias (each fragment counted once, where it is defined).
pub fn count_aliases(doc: &ExecutableDocument) -> usize {
    fn in_set(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()) + in_set(&f.node.selection_set.node)
                }
                Selection::InlineFragment(f) => in_set(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = doc
        .operations
        .iter()
        .map(|(_, op)| in_set(&op.node.selection_set.node))
        .sum();
    let fragments: usize = doc
        .fragments
        .values()
        .map(|f| in_set(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DocumentLimits {
        DocumentLimits::from(&Limits::default())
    }

    #[test]
    fn a_cached_document_is_the_parsed_query() {
        let docs = Documents::new(2, limits(), None);
        let mut first = Request::new("query Q { rooms { id } }");
        let parsed = docs.prepare(&mut first).unwrap().cloned().unwrap();
        let mut again = Request::new("query Q { rooms { id } }");
        assert_eq!(
            format!("{:?}", docs.prepare(&mut again).unwrap().unwrap()),
            format!("{parsed:?}")
        );
        assert!(matches!(
            selected_operation(&parsed, None),
            Some((Some("Q"), OperationType::Query))
        ));
    }

    #[test]
    fn counts_aliases_in_operations_and_fragments() {
        let mut r = Request::new(
            "query { a: rooms { id } b: rooms { n: name ...F } ... on Query { c: rooms { id } } }
             fragment F on Room { x: id y: id }",
        );
        let doc = Documents::new(1, limits(), None)
            .prepare(&mut r)
            .unwrap()
            .cloned()
            .unwrap();
        assert_eq!(count_aliases(&doc), 6);
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let docs = Documents::new(2, limits(), None);
        for i in 0..5 {
            let _ = docs.prepare(&mut Request::new(format!(
                "query Q{i} {{ rooms {{ id }} }}"
            )));
            assert!(docs.lock().len() <= 2);
        }
        assert!(docs
            .prepare(&mut Request::new("{ rooms { "))
            .unwrap()
            .is_none());
        let long = format!(
            "{{ rooms {{ id }} }} # {}",
            "x".repeat(Documents::MAX_QUERY_BYTES)
        );
        assert!(docs
            .prepare(&mut Request::new(long.clone()))
            .unwrap()
            .is_some());
        assert!(!docs.lock().contains_key(&long));
    }
}
