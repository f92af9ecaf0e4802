"""The customer's voice (SPEC section 9, form VOC-CRM-001): a register read over its sources, and the marks kept on its entries."""
