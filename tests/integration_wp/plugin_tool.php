<?php
// php plugin_tool.php HOST:PORT COMMAND [ARG] — drive the Inkflow Connector plugin in the WordPress
// that ../shared/wp/wp_up.sh installed, with WordPress's own functions (as wp_up.sh does its set-up):
//   activate | deactivate | uninstall     what the Plugins screen does (uninstall runs uninstall.php)
//   configure JSON                        store {base_url, api_key, webhook_secret} as the settings
//   deliver [force]                       one queue run, as the cron event (force: as "Send now")
//   state                                 JSON: settings, status, queue rows, cron, table and options
list(, $hostport, $command) = $argv;
$arg = isset($argv[3]) ? $argv[3] : null;
$_SERVER['HTTP_HOST'] = $hostport;          // selects /etc/wordpress/config-<host>.php
$_SERVER['SERVER_NAME'] = preg_replace('/:.*/', '', $hostport);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$plugin = 'inkflow-connector/inkflow-connector.php';

switch ($command) {
    case 'activate':
        $r = activate_plugin($plugin);
        if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . "\n"); exit(1); }
        echo "active\n";
        break;
    case 'deactivate':
        deactivate_plugins($plugin, true);
        echo "inactive\n";
        break;
    case 'uninstall':
        deactivate_plugins($plugin, true);
        uninstall_plugin($plugin);
        echo "uninstalled\n";
        break;
    case 'configure':
        update_option('inkflow_connector_settings', json_decode($arg, true));
        echo "configured\n";
        break;
    case 'deliver':
        echo wp_json_encode(Inkflow_Connector_Queue::process($arg === 'force')) . "\n";
        break;
    case 'state':
        global $wpdb;
        $table = $wpdb->prefix . 'inkflow_connector_queue';
        $exists = $wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $table)) === $table;
        $rows = $exists ? $wpdb->get_results("SELECT * FROM {$table} ORDER BY id", ARRAY_A) : array();
        $options = $wpdb->get_col("SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE '%inkflow\\_connector%'");
        echo wp_json_encode(array(
            'active' => is_plugin_active($plugin),
            'settings' => get_option('inkflow_connector_settings', null),
            'status' => get_option('inkflow_connector_status', null),
            'table_exists' => $exists,
            'rows' => $rows,
            'options' => $options,
            'next_scheduled' => wp_next_scheduled('inkflow_connector_deliver'),
        )) . "\n";
        break;
    default:
        fwrite(STDERR, "unknown command $command\n");
        exit(2);
}
