//! Entry point of the browser app: install the panic hook, mount the root component.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
