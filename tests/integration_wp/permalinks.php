<?php
// php permalinks.php HOST:PORT STRUCTURE — set the permalink structure of the WordPress that
// ../shared/wp/wp_up.sh installed ('' turns pretty permalinks off, '/%postname%/' back on).
list(, $hostport, $structure) = $argv;
$_SERVER['HTTP_HOST'] = $hostport;          // selects /etc/wordpress/config-<host>.php
$_SERVER['SERVER_NAME'] = preg_replace('/:.*/', '', $hostport);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require '/usr/share/wordpress/wp-load.php';
global $wp_rewrite;
$wp_rewrite->set_permalink_structure($structure);
flush_rewrite_rules(false);
echo "permalink_structure=" . get_option('permalink_structure') . "\n";
