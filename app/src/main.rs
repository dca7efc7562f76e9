//! Entry point of the browser app: install the panic hook, mount the root component.

fn main() {
    // A panic's message to the console (without it the browser shows only "unreachable").
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
    leptos::mount::mount_to_body(app::App);
}
