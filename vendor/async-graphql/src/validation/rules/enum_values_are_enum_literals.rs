//! "Values of Correct Type" for enums written in the document: an enum value is an enum
//! literal (`WEEKLY`), never a string literal (`"WEEKLY"`). Variables' JSON values are strings
//! and stay accepted (`is_valid_input_value` serves both); this rule looks only at literals, in
//! arguments, in input objects and lists within them, and in variables' default values.

use async_graphql_parser::types::{BaseType, Type, VariableDefinition};
use async_graphql_value::{ConstValue, Value};

use crate::{
    Pos, Positioned,
    registry::{MetaType, MetaTypeName},
    validation::visitor::{Visitor, VisitorContext},
};

pub struct EnumValuesAreEnumLiterals;

fn refuse(ctx: &mut VisitorContext<'_>, pos: Pos, enum_name: &str, s: &str) {
    ctx.report_error(
        vec![pos],
        format!(
            "Enum \"{}\" cannot represent non-enum value: \"{}\". Did you mean the enum value \"{}\"?",
            enum_name, s, s
        ),
    );
}

impl<'a> Visitor<'a> for EnumValuesAreEnumLiterals {
    fn enter_input_value(
        &mut self,
        ctx: &mut VisitorContext<'a>,
        pos: Pos,
        expected_type: &Option<MetaTypeName<'a>>,
        value: &'a Value,
    ) {
        if let (Value::String(s), Some(MetaTypeName::Named(name))) =
            (value, expected_type.map(|t| t.unwrap_non_null()))
            && let Some(MetaType::Enum { name, .. }) = ctx.registry.types.get(name)
        {
            refuse(ctx, pos, name, s);
        }
    }

    fn enter_variable_definition(
        &mut self,
        ctx: &mut VisitorContext<'a>,
        variable_definition: &'a Positioned<VariableDefinition>,
    ) {
        if let Some(value) = &variable_definition.node.default_value {
            check_const(
                ctx,
                value.pos,
                &variable_definition.node.var_type.node,
                &value.node,
            );
        }
    }
}

/// A default value against its declared type (lists and input objects walked; their depth is
/// the document's, which the caller bounds).
fn check_const(ctx: &mut VisitorContext<'_>, pos: Pos, ty: &Type, value: &ConstValue) {
    match (&ty.base, value) {
        (BaseType::List(item), ConstValue::List(items)) => {
            for v in items {
                check_const(ctx, pos, item, v);
            }
        }
        (BaseType::List(item), v) => check_const(ctx, pos, item, v),
        (BaseType::Named(name), v) => check_named(ctx, pos, name, v),
    }
}

fn check_named(ctx: &mut VisitorContext<'_>, pos: Pos, name: &str, value: &ConstValue) {
    let registry = ctx.registry;
    match (registry.types.get(name), value) {
        (Some(MetaType::Enum { name, .. }), ConstValue::String(s)) => refuse(ctx, pos, name, s),
        (Some(MetaType::InputObject { input_fields, .. }), ConstValue::Object(fields)) => {
            for (key, v) in fields {
                if let Some(ty) = input_fields
                    .get(key.as_str())
                    .and_then(|field| Type::new(&field.ty))
                {
                    check_const(ctx, pos, &ty, v);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn factory() -> EnumValuesAreEnumLiterals {
        EnumValuesAreEnumLiterals
    }

    #[test]
    fn enum_literal_passes() {
        expect_passes_rule!(
            factory,
            r#"
          {
            dog { doesKnowCommand(dogCommand: SIT) }
          }
        "#,
        );
    }

    #[test]
    fn string_literal_in_enum_position_fails() {
        expect_fails_rule!(
            factory,
            r#"
          {
            dog { doesKnowCommand(dogCommand: "SIT") }
          }
        "#,
        );
    }
}
