# placeholder
cmd_up() { die "not yet"; }
