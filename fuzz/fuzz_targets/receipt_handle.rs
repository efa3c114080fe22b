#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wharf_fuzz_targets::receipt_handle(data));
