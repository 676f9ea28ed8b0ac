//! `#[tulipsim::test]`: see the `tulipsim` crate, which re-exports it.
//!
//! Written against `proc_macro` alone: the attribute only needs the function's name, its
//! attributes and its body, and a parser crate would cost every user compile time.

use proc_macro::{Delimiter, Group, Ident, Literal, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn` test under the tulipsim harness, over many seeds.
///
/// ```ignore
/// #[tulipsim::test(seeds = 200, policy = "random")]
/// async fn no_lost_update() -> Result<(), tulipsim::Error> {
///     // ...
///     Ok(())
/// }
/// ```
///
/// Arguments (all optional): `seeds = N` (seeds `0..N`, default 64), `policy = "name"` (a
/// `tulipsim::Policy` name, default `"portfolio"`), `max_steps = N`, `max_time = seconds`,
/// `determinism = true`, `faults = "early_timeout=0.1,jitter=0.2"` (a `tulipsim::FaultConfig`
/// in text: see its `FromStr`). The `TULIPSIM_*` environment variables override them, so a
/// failure's replay command works as printed.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args, item) {
        Ok(ts) => ts,
        Err((span, msg)) => compile_error(span, &msg),
    }
}

type Error = (Span, String);

fn expand(args: TokenStream, item: TokenStream) -> Result<TokenStream, Error> {
    let config = parse_args(args)?;
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let async_at = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "async"))
        .ok_or_else(|| {
            (
                Span::call_site(),
                "#[tulipsim::test] goes on an `async fn`".to_string(),
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
    if let Some(TokenTree::Group(params)) = tokens.get(async_at + 3) {
        if !params.stream().is_empty() {
            return Err((
                params.span(),
                "a #[tulipsim::test] function takes no arguments".to_string(),
            ));
        }
    }
    let body = match tokens.last() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g.clone(),
        _ => return Err((name.span(), "expected the function's body".to_string())),
    };
    // `-> Type` between the parameters and the body, kept to type the body's result.
    let ret: Vec<TokenTree> = tokens[(async_at + 4).min(tokens.len() - 1)..tokens.len() - 1]
        .iter()
        .skip_while(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == '>'))
        .skip(1)
        .cloned()
        .collect();
    // Attributes and doc comments before `async` stay on the test; `pub` and the like go.
    let mut out: Vec<TokenTree> = Vec::new();
    let mut i = 0;
    while i < async_at {
        if let TokenTree::Punct(p) = &tokens[i] {
            if p.as_char() == '#' {
                if let Some(TokenTree::Group(g)) = tokens.get(i + 1) {
                    out.push(tokens[i].clone());
                    out.push(TokenTree::Group(g.clone()));
                    i += 2;
                    continue;
                }
            }
        }
        i += 1;
    }
    let mut result: TokenStream = out.into_iter().collect();
    result.extend(parse("#[test]"));
    result.extend([
        TokenTree::Ident(Ident::new("fn", Span::call_site())),
        TokenTree::Ident(name),
    ]);
    result.extend(parse("()"));
    // `async move { let r: Ret = async move BODY.await; r }`: the body keeps its declared type.
    let mut typed = parse("let __tulipsim_result");
    if !ret.is_empty() {
        typed.extend(parse(":"));
        typed.extend(ret);
    }
    typed.extend(parse("= async move"));
    typed.extend([TokenTree::Group(body)]);
    typed.extend(parse(".await; __tulipsim_result"));
    let mut closure = parse("|| async move");
    closure.extend([TokenTree::Group(Group::new(Delimiter::Brace, typed))]);
    let mut inner = parse("::tulipsim::check");
    inner.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        closure,
    ))]);
    inner.extend(config);
    inner.extend(parse(".run();"));
    result.extend([TokenTree::Group(Group::new(Delimiter::Brace, inner))]);
    Ok(result)
}

/// `key = value, ...` into builder calls.
fn parse_args(args: TokenStream) -> Result<TokenStream, Error> {
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    let mut calls = TokenStream::new();
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
            Some(TokenTree::Literal(l)) => l.clone(),
            Some(TokenTree::Ident(b)) if b.to_string() == "true" || b.to_string() == "false" => {
                Literal::string(&b.to_string())
            }
            _ => return Err((key.span(), format!("expected a value for `{key}`"))),
        };
        let v = value.to_string();
        let call = match key.to_string().as_str() {
            "seeds" => format!(".seeds(0..{v})"),
            "policy" => format!(".policy({v}.parse().expect(\"#[tulipsim::test]: not a policy\"))"),
            "max_steps" => format!(".max_steps({v})"),
            "max_time" => format!(".max_time({v})"),
            "determinism" => format!(".determinism_check({})", v.trim_matches('"')),
            "faults" => format!(
                ".faults({v}.parse::<::tulipsim::FaultConfig>().unwrap_or_else(|e| \
                 panic!(\"#[tulipsim::test(faults = ...)]: {{e}}\")))"
            ),
            other => {
                return Err((
                    key.span(),
                    format!(
                    "unknown argument `{other}` (seeds, policy, max_steps, max_time, determinism, faults)"
                ),
                ))
            }
        };
        calls.extend(parse(&call));
        i += 3;
        match tokens.get(i) {
            Some(TokenTree::Punct(p)) if p.as_char() == ',' => i += 1,
            None => {}
            Some(other) => return Err((other.span(), "expected `,`".to_string())),
        }
    }
    Ok(calls)
}

fn parse(s: &str) -> TokenStream {
    s.parse().expect("the macro's own code parses")
}

fn compile_error(span: Span, msg: &str) -> TokenStream {
    let mut ts = parse(&format!("::core::compile_error!({:?});", msg));
    ts = ts
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect();
    ts
}
