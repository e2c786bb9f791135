"""Customer grading: the reason for every grade and what would move it up, satisfaction and contacts, customer
attributes, the criterion review and KANO (see docs/grading.md)."""
