<?php
/**
 * Plugin Name:       Inkflow Connector
 * Description:       Tells Inkflow about the posts, pages, categories and tags edited in this site: signed webhooks (Standard Webhooks) sent from a small retrying queue, outside the editor's request.
 * Version:           1.0.0
 * Requires at least: 5.6
 * Requires PHP:      7.4
 * Author:            Inkflow
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       inkflow-connector
 *
 * @package Inkflow_Connector
 */

/*
 * Copyright (C) the Inkflow authors.
 *
 * This program is free software; you can redistribute it and/or modify it under the terms of the
 * GNU General Public License as published by the Free Software Foundation; either version 2 of
 * the License, or (at your option) any later version.
 *
 * This program is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY;
 * without even the implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See
 * the GNU General Public License for more details.
 */

defined( 'ABSPATH' ) || exit;

define( 'INKFLOW_CONNECTOR_VERSION', '1.0.0' );
define( 'INKFLOW_CONNECTOR_FILE', __FILE__ );

require_once __DIR__ . '/includes/class-inkflow-connector-queue.php';
require_once __DIR__ . '/includes/class-inkflow-connector-events.php';

register_activation_hook( __FILE__, array( 'Inkflow_Connector_Queue', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'Inkflow_Connector_Queue', 'deactivate' ) );

Inkflow_Connector_Queue::init();
Inkflow_Connector_Events::init();

// The settings page, options.php (which saves it) and admin-post.php (its buttons) are all admin.
if ( is_admin() ) {
	require_once __DIR__ . '/includes/class-inkflow-connector-settings.php';
	Inkflow_Connector_Settings::init();
}
