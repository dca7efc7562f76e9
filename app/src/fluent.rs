//! Bindings to Project Fluent's formatter, `@fluent/bundle` (its UMD build, loaded by
//! `index.html` before the app, puts it on the global `FluentBundle`). It takes each
//! language's plural rules and number formats from the browser's `Intl`, which carries the
//! CLDR data already: the app does not ship a second copy in its WebAssembly.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// A parsed `.ftl` file.
    #[wasm_bindgen(js_namespace = FluentBundle, js_name = FluentResource)]
    pub type Resource;

    #[wasm_bindgen(constructor, catch, js_namespace = FluentBundle, js_class = "FluentResource")]
    fn new(source: &str) -> Result<Resource, JsValue>;

    /// The messages of one language.
    #[wasm_bindgen(js_namespace = FluentBundle, js_name = FluentBundle)]
    pub type Bundle;

    #[wasm_bindgen(constructor, catch, js_namespace = FluentBundle, js_class = "FluentBundle")]
    fn new(locale: &str) -> Result<Bundle, JsValue>;

    #[wasm_bindgen(method, js_name = addResource)]
    fn add_resource(this: &Bundle, resource: &Resource) -> Array;

    #[wasm_bindgen(method, js_name = getMessage)]
    fn get_message(this: &Bundle, id: &str) -> JsValue;

    #[wasm_bindgen(method, catch, js_name = formatPattern)]
    fn format_pattern(
        this: &Bundle,
        pattern: &JsValue,
        args: &JsValue,
        errors: &Array,
    ) -> Result<String, JsValue>;
}

/// A variable's value: text, or a number (which selects the plural form).
pub enum Arg<'a> {
    /// Text, such as a name.
    Text(&'a str),
    /// A count.
    Number(f64),
}

impl Bundle {
    /// The bundle of `tag` holding the messages of `source`; `None` if Fluent is missing (the
    /// script did not load) or the file does not parse at all.
    pub fn parse(tag: &str, source: &str) -> Option<Bundle> {
        let bundle = Bundle::new(tag).ok()?;
        let resource = Resource::new(source).ok()?;
        // Syntax errors leave the message they are in out; the tests keep the files free of them.
        let _ = bundle.add_resource(&resource);
        Some(bundle)
    }

    /// Message `id` with `args`, or `None` if there is no such message.
    pub fn format(&self, id: &str, args: &[(&str, Arg<'_>)]) -> Option<String> {
        let message = self.get_message(id);
        let pattern = Reflect::get(&message, &"value".into())
            .ok()
            .filter(|v| !v.is_null() && !v.is_undefined())?;
        let values = Object::new();
        for (name, value) in args {
            let value = match value {
                Arg::Text(text) => JsValue::from_str(text),
                Arg::Number(n) => JsValue::from_f64(*n),
            };
            let _ = Reflect::set(&values, &(*name).into(), &value);
        }
        // Errors (a missing variable) still give the text, with the variable's name in braces.
        self.format_pattern(&pattern, &values, &Array::new()).ok()
    }
}
