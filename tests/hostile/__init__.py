"""The hostile-input harness (issue 25): a table of hostile inputs, the command or call each goes to
and the class of outcome it must get, run by the tests here and by benchmarks/hostile_sweep.py."""
