//! Relationship fields of a Packages stanza (`Depends`, `Pre-Depends`, `Provides`), as
//! deb-control(5) and Debian policy §7.1 write them:
//!
//! ```text
//! Depends: libc6 (>= 2.36), perl:any, debconf (>= 0.5) | debconf-2.0, foo [amd64 !i386] <!nocheck>
//! ```
//!
//! Commas separate relations, which must all hold; `|` separates the alternatives of one
//! relation, of which one must hold (the first is preferred). An alternative names a
//! package, optionally qualified by architecture (`:any`, `:native`, `:amd64`), optionally
//! constrained in version (`<<`, `<=`, `=`, `>=`, `>>`; the obsolete `<` and `>` mean `<=`
//! and `>=`, as dpkg reads them), optionally restricted to architectures (`[amd64 !i386]`),
//! and optionally followed by build profiles (`<!nocheck>`), which belong to source
//! packages and are ignored here.

use std::fmt;

use crate::architecture::Architecture;
use crate::version::Version;

/// One comma-separated relation: alternatives separated by `|`, the first preferred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub alternatives: Vec<Dependency>,
}

/// One alternative: a package name, qualified and constrained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: String,
    pub qualifier: Option<ArchQualifier>,
    pub constraint: Option<Constraint>,
    /// The architectures the alternative applies to (`[amd64 !i386]`); empty for all.
    pub restrictions: Vec<ArchRestriction>,
}

/// The architecture qualifier after `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchQualifier {
    /// `:any`: the package of any architecture, which holds only for a package that says
    /// `Multi-Arch: allowed`.
    Any,
    /// `:native`: the package of the native architecture.
    Native,
    /// `:amd64` and the like.
    Named(String),
}

/// One entry of a `[...]` restriction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchRestriction {
    pub negated: bool,
    /// An architecture name or wildcard (`linux-any`).
    pub pattern: String,
}

/// A version constraint, `(>= 2.36)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub operator: Operator,
    pub version: Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    /// `<<`
    Earlier,
    /// `<=` (also the obsolete `<`)
    EarlierOrEqual,
    /// `=`
    Equal,
    /// `>=` (also the obsolete `>`)
    LaterOrEqual,
    /// `>>`
    Later,
}

/// Why a relationship field could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid relation `{text}`: {problem}")]
pub struct RelationError {
    /// The alternative (or the whole field) that is wrong.
    pub text: String,
    pub problem: String,
}

/// Parses a `Depends`-like field into its relations. Empty entries (`a, , b`, a trailing
/// comma) are skipped.
pub fn parse_relations(field: &str) -> Result<Vec<Relation>, RelationError> {
    let mut relations = Vec::new();
    for entry in field.split(',') {
        if entry.trim().is_empty() {
            continue;
        }
        let alternatives = entry
            .split('|')
            .map(parse_dependency)
            .collect::<Result<Vec<_>, _>>()?;
        relations.push(Relation { alternatives });
    }
    Ok(relations)
}

/// Parses a `Provides` field: a comma-separated list of packages, without alternatives,
/// each optionally versioned with `=` (a versioned Provides).
pub fn parse_provides(field: &str) -> Result<Vec<Dependency>, RelationError> {
    let mut provided = Vec::new();
    for entry in field.split(',') {
        if entry.trim().is_empty() {
            continue;
        }
        if entry.contains('|') {
            return Err(RelationError {
                text: entry.trim().to_string(),
                problem: "Provides has no alternatives".to_string(),
            });
        }
        let dependency = parse_dependency(entry)?;
        if let Some(constraint) = &dependency.constraint
            && constraint.operator != Operator::Equal
        {
            return Err(RelationError {
                text: entry.trim().to_string(),
                problem: "a versioned Provides takes `=` only".to_string(),
            });
        }
        provided.push(dependency);
    }
    Ok(provided)
}

/// Parses one alternative: `name[:qualifier] [(op version)] [[archs]] [<profiles>...]`.
pub fn parse_dependency(text: &str) -> Result<Dependency, RelationError> {
    let trimmed = text.trim();
    let error = |problem: String| RelationError {
        text: trimmed.to_string(),
        problem,
    };
    let mut rest = trimmed;

    let name_length = rest
        .find(|character: char| !(character.is_ascii_alphanumeric() || "+-._".contains(character)))
        .unwrap_or(rest.len());
    let name = &rest[..name_length];
    if name.is_empty() {
        return Err(error("expected a package name".to_string()));
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(error(format!(
            "package name `{name}` must start with a letter or digit"
        )));
    }
    rest = &rest[name_length..];

    let mut qualifier = None;
    if let Some(after_colon) = rest.strip_prefix(':') {
        let length = after_colon
            .find(|character: char| {
                !(character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-')
            })
            .unwrap_or(after_colon.len());
        qualifier = Some(match &after_colon[..length] {
            "" => return Err(error("expected an architecture after `:`".to_string())),
            "any" => ArchQualifier::Any,
            "native" => ArchQualifier::Native,
            other => ArchQualifier::Named(other.to_string()),
        });
        rest = &after_colon[length..];
    }
    rest = rest.trim_start();

    let mut constraint = None;
    if let Some(after_parenthesis) = rest.strip_prefix('(') {
        let Some(close) = after_parenthesis.find(')') else {
            return Err(error("`(` without `)`".to_string()));
        };
        constraint = Some(parse_constraint(&after_parenthesis[..close]).map_err(error)?);
        rest = after_parenthesis[close + 1..].trim_start();
    }

    let mut restrictions = Vec::new();
    if let Some(after_bracket) = rest.strip_prefix('[') {
        let Some(close) = after_bracket.find(']') else {
            return Err(error("`[` without `]`".to_string()));
        };
        for token in after_bracket[..close].split_whitespace() {
            let (negated, pattern) = match token.strip_prefix('!') {
                Some(pattern) => (true, pattern),
                None => (false, token),
            };
            if pattern.is_empty() {
                return Err(error("an empty architecture in `[...]`".to_string()));
            }
            restrictions.push(ArchRestriction {
                negated,
                pattern: pattern.to_string(),
            });
        }
        if restrictions.is_empty() {
            return Err(error("an empty `[]`".to_string()));
        }
        if restrictions.iter().any(|restriction| restriction.negated)
            != restrictions.iter().all(|restriction| restriction.negated)
        {
            return Err(error(
                "`[...]` mixes negated and plain architectures".to_string(),
            ));
        }
        rest = after_bracket[close + 1..].trim_start();
    }

    // Build profiles: one or more `<...>` groups, which only source packages use.
    while let Some(after_angle) = rest.strip_prefix('<') {
        let Some(close) = after_angle.find('>') else {
            return Err(error("`<` without `>`".to_string()));
        };
        rest = after_angle[close + 1..].trim_start();
    }

    if !rest.is_empty() {
        return Err(error(format!("unexpected `{rest}`")));
    }
    Ok(Dependency {
        name: name.to_string(),
        qualifier,
        constraint,
        restrictions,
    })
}

fn parse_constraint(inside: &str) -> Result<Constraint, String> {
    let inside = inside.trim();
    let (operator, rest) = [
        ("<<", Operator::Earlier),
        ("<=", Operator::EarlierOrEqual),
        (">=", Operator::LaterOrEqual),
        (">>", Operator::Later),
        ("=", Operator::Equal),
        ("<", Operator::EarlierOrEqual),
        (">", Operator::LaterOrEqual),
    ]
    .into_iter()
    .find_map(|(symbol, operator)| inside.strip_prefix(symbol).map(|rest| (operator, rest)))
    .ok_or_else(|| {
        format!("expected one of <<, <=, =, >=, >> before the version in `({inside})`")
    })?;
    let version = Version::parse(rest.trim()).map_err(|error| error.to_string())?;
    Ok(Constraint { operator, version })
}

impl Relation {
    /// The relation as it applies on `architecture`: alternatives restricted to other
    /// architectures left out; `None` when none is left, so the relation does not apply.
    pub fn for_architecture(&self, architecture: &Architecture) -> Option<Relation> {
        let alternatives: Vec<Dependency> = self
            .alternatives
            .iter()
            .filter(|dependency| dependency.applies_to(architecture))
            .cloned()
            .collect();
        (!alternatives.is_empty()).then_some(Relation { alternatives })
    }
}

impl Dependency {
    /// Whether the `[...]` restriction, if any, includes `architecture`.
    pub fn applies_to(&self, architecture: &Architecture) -> bool {
        if self.restrictions.is_empty() {
            return true;
        }
        let listed = self
            .restrictions
            .iter()
            .any(|restriction| architecture.matches(&restriction.pattern));
        if self.restrictions[0].negated {
            !listed
        } else {
            listed
        }
    }

    /// Whether `version` meets the version constraint (always, without one).
    pub fn allows(&self, version: &Version) -> bool {
        self.constraint
            .as_ref()
            .is_none_or(|constraint| constraint.allows(version))
    }
}

impl Constraint {
    pub fn allows(&self, version: &Version) -> bool {
        let ordering = version.cmp(&self.version);
        match self.operator {
            Operator::Earlier => ordering.is_lt(),
            Operator::EarlierOrEqual => ordering.is_le(),
            Operator::Equal => ordering.is_eq(),
            Operator::LaterOrEqual => ordering.is_ge(),
            Operator::Later => ordering.is_gt(),
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Operator::Earlier => "<<",
            Operator::EarlierOrEqual => "<=",
            Operator::Equal => "=",
            Operator::LaterOrEqual => ">=",
            Operator::Later => ">>",
        })
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.operator, self.version)
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.name)?;
        match &self.qualifier {
            Some(ArchQualifier::Any) => formatter.write_str(":any")?,
            Some(ArchQualifier::Native) => formatter.write_str(":native")?,
            Some(ArchQualifier::Named(architecture)) => write!(formatter, ":{architecture}")?,
            None => {}
        }
        if let Some(constraint) = &self.constraint {
            write!(formatter, " ({constraint})")?;
        }
        if !self.restrictions.is_empty() {
            let patterns: Vec<String> = self
                .restrictions
                .iter()
                .map(|restriction| {
                    format!(
                        "{}{}",
                        if restriction.negated { "!" } else { "" },
                        restriction.pattern
                    )
                })
                .collect();
            write!(formatter, " [{}]", patterns.join(" "))?;
        }
        Ok(())
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, dependency) in self.alternatives.iter().enumerate() {
            if index > 0 {
                formatter.write_str(" | ")?;
            }
            write!(formatter, "{dependency}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amd64() -> Architecture {
        Architecture::new("amd64").unwrap()
    }

    #[test]
    fn commas_separate_relations_and_bars_separate_alternatives() {
        let relations =
            parse_relations("libc6 (>= 2.36), debconf (>= 0.5) | debconf-2.0,perl:any").unwrap();
        let written: Vec<String> = relations.iter().map(ToString::to_string).collect();
        assert_eq!(
            written,
            [
                "libc6 (>= 2.36)",
                "debconf (>= 0.5) | debconf-2.0",
                "perl:any"
            ]
        );
        assert_eq!(relations[1].alternatives[1].name, "debconf-2.0");
        assert_eq!(relations[1].alternatives[1].constraint, None);
        assert_eq!(
            relations[2].alternatives[0].qualifier,
            Some(ArchQualifier::Any)
        );
    }

    #[test]
    fn every_operator_is_read_and_the_obsolete_ones_as_dpkg_reads_them() {
        for (text, operator) in [
            ("a (<< 1)", Operator::Earlier),
            ("a (<= 1)", Operator::EarlierOrEqual),
            ("a (= 1)", Operator::Equal),
            ("a (>= 1)", Operator::LaterOrEqual),
            ("a (>> 1)", Operator::Later),
            ("a (< 1)", Operator::EarlierOrEqual),
            ("a (> 1)", Operator::LaterOrEqual),
            ("a(>=1)", Operator::LaterOrEqual),
            ("a (  >=   1  )", Operator::LaterOrEqual),
        ] {
            let dependency = parse_dependency(text).unwrap();
            let constraint = dependency.constraint.expect(text);
            assert_eq!(constraint.operator, operator, "{text}");
            assert_eq!(constraint.version.as_str(), "1", "{text}");
        }
    }

    #[test]
    fn constraints_hold_as_their_operators_say() {
        let version = |text: &str| Version::parse(text).unwrap();
        let dependency = |text: &str| parse_dependency(text).unwrap();
        assert!(dependency("a (>= 1.0-1)").allows(&version("1.0-1+deb12u1")));
        assert!(!dependency("a (>> 1.0-1+deb12u1)").allows(&version("1.0-1+deb12u1")));
        assert!(dependency("a (<< 1.0)").allows(&version("1.0~rc1")));
        assert!(dependency("a (= 1.0)").allows(&version("0:1.0-0")));
        assert!(!dependency("a (<= 1:0.1)").allows(&version("2:0.1")));
        assert!(dependency("a").allows(&version("1")));
    }

    #[test]
    fn qualifiers_are_any_native_or_an_architecture() {
        let qualifier = |text: &str| parse_dependency(text).unwrap().qualifier;
        assert_eq!(qualifier("python3:any (>= 3.11)"), Some(ArchQualifier::Any));
        assert_eq!(qualifier("gcc:native"), Some(ArchQualifier::Native));
        assert_eq!(
            qualifier("libc6:i386"),
            Some(ArchQualifier::Named("i386".to_string()))
        );
        assert_eq!(qualifier("libc6"), None);
    }

    #[test]
    fn architecture_restrictions_drop_alternatives_and_relations() {
        let relations =
            parse_relations("a [amd64], b [!amd64] | c, d [i386 arm64], e [linux-any]").unwrap();
        let applying: Vec<String> = relations
            .iter()
            .filter_map(|relation| relation.for_architecture(&amd64()))
            .map(|relation| relation.to_string())
            .collect();
        assert_eq!(applying, ["a [amd64]", "c", "e [linux-any]"]);
    }

    #[test]
    fn build_profiles_are_read_and_ignored() {
        let dependency =
            parse_dependency("debhelper (>= 13) [amd64] <!nocheck> <stage1 cross>").unwrap();
        assert_eq!(dependency.to_string(), "debhelper (>= 13) [amd64]");
    }

    #[test]
    fn provides_may_be_versioned_with_equals_only() {
        let provided = parse_provides("libfoo-abi-2 (= 2.1), mail-transport-agent").unwrap();
        assert_eq!(provided.len(), 2);
        assert_eq!(
            provided[0].constraint.as_ref().unwrap().version.as_str(),
            "2.1"
        );
        assert_eq!(
            parse_provides("a (>= 1)").unwrap_err().problem,
            "a versioned Provides takes `=` only"
        );
        assert_eq!(
            parse_provides("a | b").unwrap_err().problem,
            "Provides has no alternatives"
        );
    }

    #[test]
    fn empty_entries_are_skipped() {
        assert_eq!(parse_relations("").unwrap(), []);
        assert_eq!(parse_relations("a, , b,").unwrap().len(), 2);
    }

    #[test]
    fn malformed_relations_name_the_alternative_and_the_problem() {
        for (field, text, problem) in [
            ("a, (>= 1)", "(>= 1)", "expected a package name"),
            ("a | ", "", "expected a package name"),
            (
                "-a",
                "-a",
                "package name `-a` must start with a letter or digit",
            ),
            ("a (>= 1", "a (>= 1", "`(` without `)`"),
            (
                "a (~ 1)",
                "a (~ 1)",
                "expected one of <<, <=, =, >=, >> before the version in `(~ 1)`",
            ),
            ("a (>= )", "a (>= )", "invalid version ``: it is empty"),
            ("a [amd64", "a [amd64", "`[` without `]`"),
            (
                "a [amd64 !i386]",
                "a [amd64 !i386]",
                "`[...]` mixes negated and plain architectures",
            ),
            ("a:", "a:", "expected an architecture after `:`"),
            ("a b", "a b", "unexpected `b`"),
        ] {
            let error = parse_relations(field).expect_err(field);
            assert_eq!(
                (error.text.as_str(), error.problem.as_str()),
                (text, problem),
                "{field}"
            );
        }
    }
}
