<?php
/**
 * Uninstall (Plugins -> Delete): remove the plugin's options, queue table, cron event and notices.
 *
 * @package Inkflow_Connector
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

global $wpdb;

delete_option( 'inkflow_connector_settings' );
delete_option( 'inkflow_connector_status' );
delete_option( 'inkflow_connector_db_version' );
wp_clear_scheduled_hook( 'inkflow_connector_deliver' );
// The per-user notices of the settings page (transients, stored as options without an object cache).
$wpdb->query( "DELETE FROM {$wpdb->options} WHERE option_name LIKE '\\_transient\\_inkflow\\_connector\\_%' OR option_name LIKE '\\_transient\\_timeout\\_inkflow\\_connector\\_%'" ); // phpcs:ignore WordPress.DB
$wpdb->query( "DROP TABLE IF EXISTS {$wpdb->prefix}inkflow_connector_queue" ); // phpcs:ignore WordPress.DB
