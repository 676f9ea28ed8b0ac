//! `#[tokio::main]` and `#[tokio::test]` for `tulipsim-tokio` under `--cfg tulipsim`: use them
//! through `tulipsim-tokio`, which re-exports them as `main` and `test`.
//!
//! Written against `proc_macro` alone, as `tulipsim-macros` is: the attributes only need the
//! function's attributes, signature and body.

use proc_macro::{Delimiter, Group, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn main` on a simulated runtime (tokio's `#[tokio::main]`).
///
/// Accepts tokio's arguments (`flavor`, `worker_threads`, `start_paused`, `unhandled_panic`;
/// they change nothing in a simulation) and `crate = "path"` for a shim not named `tokio`.
/// The loop's seed comes from `TULIPSIM_SEED` (default 0).
///
/// ```ignore
/// #[tokio::main]
/// async fn main() {
///     tokio::time::sleep(std::time::Duration::from_secs(1)).await;
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args, item).unwrap_or_else(|(span, msg)| compile_error(span, &msg))
}

/// Runs an `async fn` test under tulipsim's `check` harness (tokio's `#[tokio::test]`): over
/// many seeds (default 64, `TULIPSIM_SEEDS`), a scheduling policy (`TULIPSIM_POLICY`) and
/// faults, with a replay command and a shrunk schedule when a seed fails. The body may return
/// `()` or `Result<(), E>` with `E: Debug`.
///
/// Accepts tokio's arguments (`flavor`, `worker_threads`, `start_paused`, `unhandled_panic`:
/// they change nothing in a simulation) and `crate = "path"`.
///
/// ```ignore
/// #[tokio::test]
/// async fn replies() {
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     // ...
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args, item).unwrap_or_else(|(span, msg)| compile_error(span, &msg))
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[tokio::main]",
            Kind::Test => "#[tokio::test]",
        }
    }
}

type Error = (Span, String);

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> Result<TokenStream, Error> {
    let krate = parse_args(kind, args)?;
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let async_at = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "async"))
        .ok_or_else(|| {
            (
                Span::call_site(),
                format!("{} goes on an `async fn`", kind.name()),
            )
        })?;
    let name = match (tokens.get(async_at + 1), tokens.get(async_at + 2)) {
        (Some(TokenTree::Ident(f)), Some(TokenTree::Ident(name))) if f.to_string() == "fn" => {
            name.clone()
        }
        _ => {
            return Err((
                tokens[async_at].span(),
                "expected `async fn name()`".to_string(),
            ))
        }
    };
    match tokens.get(async_at + 3) {
        Some(TokenTree::Group(params))
            if params.delimiter() == Delimiter::Parenthesis && params.stream().is_empty() => {}
        Some(other) => {
            return Err((
                other.span(),
                format!("a {} function takes no arguments", kind.name()),
            ))
        }
        None => return Err((name.span(), "expected `()`".to_string())),
    }
    let body = match tokens.last() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g.clone(),
        _ => return Err((name.span(), "expected the function's body".to_string())),
    };
    // `-> Type`, between the parameters and the body.
    let sig_rest = &tokens[async_at + 4..tokens.len() - 1];
    let ret: Vec<TokenTree> = match sig_rest {
        [] => Vec::new(),
        [TokenTree::Punct(a), TokenTree::Punct(b), rest @ ..]
            if a.as_char() == '-' && b.as_char() == '>' =>
        {
            rest.to_vec()
        }
        [first, ..] => {
            return Err((
                first.span(),
                format!(
                    "{}: expected `-> Type` or the body here (generics and where clauses are \
                     not supported)",
                    kind.name()
                ),
            ))
        }
    };
    // Attributes, doc comments and visibility stay; `async` goes.
    let mut out: TokenStream = tokens[..async_at].iter().cloned().collect();
    if kind == Kind::Test {
        out.extend(parse("#[::core::prelude::v1::test]"));
    }
    out.extend(parse("fn"));
    out.extend([TokenTree::Ident(name)]);
    out.extend(parse("()"));
    let mut inner = TokenStream::new();
    match kind {
        Kind::Main => {
            if !ret.is_empty() {
                out.extend(parse("->"));
                out.extend(ret.iter().cloned());
            }
            let mut arg = parse("async move");
            arg.extend([TokenTree::Group(body)]);
            inner.extend(krate.clone());
            inner.extend(parse("::__private::block_on_main"));
            inner.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, arg))]);
        }
        Kind::Test => {
            // `let r: Ret = async move BODY.await;`: the body keeps its declared type.
            let mut typed = parse("let __tulipsim_result");
            typed.extend(parse(":"));
            if ret.is_empty() {
                typed.extend(parse("()"));
            } else {
                typed.extend(ret);
            }
            typed.extend(parse("= async move"));
            typed.extend([TokenTree::Group(body)]);
            typed.extend(parse(".await;"));
            typed.extend(krate.clone());
            typed.extend(parse(
                "::__private::TestResult::into_test_result(__tulipsim_result)",
            ));
            let mut closure = parse("|| async move");
            closure.extend([TokenTree::Group(Group::new(Delimiter::Brace, typed))]);
            inner.extend(krate);
            inner.extend(parse("::__private::run_test"));
            inner.extend([TokenTree::Group(Group::new(
                Delimiter::Parenthesis,
                closure,
            ))]);
            inner.extend(parse(";"));
        }
    }
    out.extend([TokenTree::Group(Group::new(Delimiter::Brace, inner))]);
    Ok(out)
}

/// tokio's arguments are accepted; `crate = "path"` names the shim's path (default `::tokio`).
fn parse_args(kind: Kind, args: TokenStream) -> Result<TokenStream, Error> {
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    let mut krate = parse("::tokio");
    let mut i = 0;
    while i < tokens.len() {
        let key = match &tokens[i] {
            TokenTree::Ident(k) => k.clone(),
            other => return Err((other.span(), "expected `key = value`".to_string())),
        };
        match tokens.get(i + 1) {
            Some(TokenTree::Punct(p)) if p.as_char() == '=' && p.spacing() == Spacing::Alone => {}
            _ => return Err((key.span(), format!("expected `{key} = value`"))),
        }
        let value = match tokens.get(i + 2) {
            Some(v @ (TokenTree::Literal(_) | TokenTree::Ident(_))) => v.clone(),
            _ => return Err((key.span(), format!("expected a value for `{key}`"))),
        };
        match key.to_string().as_str() {
            "flavor" | "worker_threads" | "start_paused" | "unhandled_panic" => {}
            "crate" => {
                let path = value.to_string();
                let path = path.trim_matches('"');
                krate = path
                    .parse()
                    .map_err(|_| (value.span(), format!("`crate = {path:?}` is not a path")))?;
            }
            other => {
                return Err((
                    key.span(),
                    format!(
                        "{}: unknown argument `{other}` (flavor, worker_threads, start_paused, \
                         unhandled_panic, crate)",
                        kind.name()
                    ),
                ))
            }
        }
        i += 3;
        match tokens.get(i) {
            Some(TokenTree::Punct(p)) if p.as_char() == ',' => i += 1,
            None => {}
            Some(other) => return Err((other.span(), "expected `,`".to_string())),
        }
    }
    Ok(krate)
}

fn parse(s: &str) -> TokenStream {
    s.parse().expect("the macro's own code parses")
}

fn compile_error(span: Span, msg: &str) -> TokenStream {
    parse(&format!("::core::compile_error!({msg:?});"))
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect()
}
