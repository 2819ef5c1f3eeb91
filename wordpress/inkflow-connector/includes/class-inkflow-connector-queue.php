<?php
/**
 * The delivery queue: a table of signed-webhook deliveries, sent from WP-Cron with retries.
 *
 * @package Inkflow_Connector
 */

defined( 'ABSPATH' ) || exit;

/**
 * Stores events, signs them the Standard Webhooks way and posts them to Inkflow.
 *
 * A table rather than an option: the editor's request adds rows while a cron run removes others,
 * and a read-modify-write of one option would lose events when the two overlap.
 */
final class Inkflow_Connector_Queue {

	const OPTION        = 'inkflow_connector_settings';
	const STATUS_OPTION = 'inkflow_connector_status';
	const DB_OPTION     = 'inkflow_connector_db_version';
	const DB_VERSION    = '1';
	const HOOK          = 'inkflow_connector_deliver';
	const ENDPOINT      = '/api/v1/integration/webhook/wordpress/';

	/** Tries per delivery before it is dropped (listed under "failed deliveries"). */
	const MAX_ATTEMPTS = 8;

	/**
	 * Seconds to wait after the 1st, 2nd, ... 7th failed try: about 22 hours in all, so a
	 * day-long Inkflow outage loses nothing.
	 */
	const RETRY_DELAYS = array( 60, 300, 900, 3600, 10800, 21600, 43200 );

	/** Seconds one HTTP call may take: a cron run must not hang on a dead server. */
	const TIMEOUT = 5;

	/** Deliveries sent per cron run at most; the rest go in the next run, scheduled at once. */
	const BATCH = 25;

	/** Failed deliveries kept for the settings page (the oldest are pruned). */
	const KEEP_FAILED = 50;

	/**
	 * Hooks.
	 */
	public static function init() {
		add_action( self::HOOK, array( __CLASS__, 'run_cron' ) );
		add_action( 'plugins_loaded', array( __CLASS__, 'maybe_upgrade' ) );
	}

	/**
	 * Activation: the table.
	 */
	public static function activate() {
		self::create_table();
	}

	/**
	 * Deactivation stops sending; the queue stays until the plugin is uninstalled.
	 */
	public static function deactivate() {
		wp_clear_scheduled_hook( self::HOOK );
	}

	/**
	 * The queue table's name.
	 *
	 * @return string
	 */
	public static function table() {
		global $wpdb;
		return $wpdb->prefix . 'inkflow_connector_queue';
	}

	/**
	 * Create or update the table (dbDelta wants this exact layout: two spaces after PRIMARY KEY).
	 */
	public static function create_table() {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table   = self::table();
		$charset = $wpdb->get_charset_collate();
		dbDelta(
			"CREATE TABLE {$table} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  webhook_id varchar(64) NOT NULL,
  event varchar(32) NOT NULL,
  body longtext NOT NULL,
  state varchar(16) NOT NULL DEFAULT 'pending',
  attempts int(10) unsigned NOT NULL DEFAULT 0,
  created_at bigint(20) NOT NULL,
  next_attempt_at bigint(20) NOT NULL,
  last_attempt_at bigint(20) DEFAULT NULL,
  last_status int(11) DEFAULT NULL,
  last_error text,
  PRIMARY KEY  (id),
  UNIQUE KEY webhook_id (webhook_id),
  KEY state_id (state,id)
) {$charset};"
		);
		// Autoloaded: maybe_upgrade() reads it on every request.
		update_option( self::DB_OPTION, self::DB_VERSION, true );
	}

	/**
	 * A plugin updated by copying its files gets no activation call: create the table then.
	 */
	public static function maybe_upgrade() {
		if ( get_option( self::DB_OPTION ) !== self::DB_VERSION ) {
			self::create_table();
		}
	}

	/**
	 * The saved settings, with every key present.
	 *
	 * @return array{base_url: string, api_key: string, webhook_secret: string}
	 */
	public static function settings() {
		$saved = get_option( self::OPTION, array() );
		$saved = is_array( $saved ) ? $saved : array();
		$out   = array();
		foreach ( array( 'base_url', 'api_key', 'webhook_secret' ) as $key ) {
			$out[ $key ] = isset( $saved[ $key ] ) && is_string( $saved[ $key ] ) ? $saved[ $key ] : '';
		}
		return $out;
	}

	/**
	 * Whether there is somewhere to send to; events are not queued before that.
	 *
	 * @return bool
	 */
	public static function is_configured() {
		$s = self::settings();
		return '' !== $s['base_url'] && '' !== $s['api_key'] && false !== self::secret_key( $s['webhook_secret'] );
	}

	/**
	 * The HMAC key of a `whsec_<base64>` secret: the decoded bytes, as the Standard Webhooks
	 * libraries use it (they also accept the base64 without its `=` padding).
	 *
	 * @param string $secret The secret as Inkflow showed it.
	 * @return string|false The raw key, or false when the secret is not in that form.
	 */
	public static function secret_key( $secret ) {
		if ( ! is_string( $secret ) || ! preg_match( '/^whsec_([A-Za-z0-9+\/]+)(={0,2})$/', $secret, $m ) ) {
			return false;
		}
		$b64 = $m[1] . str_repeat( '=', ( 4 - strlen( $m[1] ) % 4 ) % 4 );
		$key = base64_decode( $b64, true ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode -- the secret's format.
		return ( false === $key || strlen( $key ) < 16 ) ? false : $key;
	}

	/**
	 * The `webhook-signature` header: `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`.
	 *
	 * @param string $secret     The `whsec_` secret.
	 * @param string $webhook_id The delivery's webhook-id.
	 * @param int    $timestamp  Unix seconds, as sent in webhook-timestamp.
	 * @param string $body       The exact bytes sent.
	 * @return string
	 */
	public static function sign( $secret, $webhook_id, $timestamp, $body ) {
		$key = self::secret_key( $secret );
		$mac = hash_hmac( 'sha256', $webhook_id . '.' . $timestamp . '.' . $body, (string) $key, true );
		return 'v1,' . base64_encode( $mac ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- the signature's format.
	}

	/**
	 * Queue one event and make sure a cron run is due. Returns the row's webhook-id, or null
	 * when the plugin isn't connected yet.
	 *
	 * The body is stored as sent, so every retry carries the same bytes and the same
	 * webhook-id (Inkflow's de-duplication); only the timestamp and signature are renewed per try,
	 * because Inkflow refuses timestamps more than 5 minutes old.
	 *
	 * @param string $event One of post.created|updated|published|deleted, term.created|updated|deleted.
	 * @param array  $data  The event's data.
	 * @return string|null
	 */
	public static function enqueue( $event, array $data ) {
		global $wpdb;
		if ( ! self::is_configured() ) {
			return null;
		}
		$body       = wp_json_encode(
			array(
				'event'       => $event,
				'site_url'    => home_url(),
				'occurred_at' => gmdate( 'Y-m-d\TH:i:s\Z' ),
				'data'        => $data,
			),
			JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
		);
		$webhook_id = 'msg_' . str_replace( '-', '', wp_generate_uuid4() );
		$now        = time();
		$wpdb->insert( // phpcs:ignore WordPress.DB.DirectDatabaseQuery -- the plugin's own table.
			self::table(),
			array(
				'webhook_id'      => $webhook_id,
				'event'           => $event,
				'body'            => $body,
				'state'           => 'pending',
				'attempts'        => 0,
				'created_at'      => $now,
				'next_attempt_at' => $now,
			),
			array( '%s', '%s', '%s', '%s', '%d', '%d', '%d' )
		);
		self::schedule();
		return $webhook_id;
	}

	/**
	 * Schedule the single cron event for when the oldest pending delivery is due (none when the
	 * queue is empty). WordPress spawns due events with a non-blocking request after the page,
	 * so saving a post never waits for Inkflow.
	 */
	public static function schedule() {
		global $wpdb;
		$table = self::table();
		$head  = $wpdb->get_var( "SELECT next_attempt_at FROM {$table} WHERE state = 'pending' ORDER BY id ASC LIMIT 1" ); // phpcs:ignore WordPress.DB
		$next  = wp_next_scheduled( self::HOOK );
		if ( null === $head ) {
			if ( $next ) {
				wp_clear_scheduled_hook( self::HOOK );
			}
			return;
		}
		$due = max( time(), (int) $head );
		if ( $next && $next <= $due ) {
			return; // An earlier run is coming; it reschedules what it leaves.
		}
		if ( $next ) {
			wp_clear_scheduled_hook( self::HOOK );
		}
		wp_schedule_single_event( $due, self::HOOK );
	}

	/**
	 * The cron event.
	 */
	public static function run_cron() {
		self::process( false );
	}

	/**
	 * Send due deliveries, oldest first.
	 *
	 * In order, and stop at the first one that must wait: Inkflow then sees a post's events in
	 * the order they happened, and a dead server costs one timeout per run rather than one per
	 * queued event.
	 *
	 * @param bool $force Send even what is waiting for its retry time ("Send now" on the settings page).
	 * @return array{sent: int, failed: int, pending: int}
	 */
	public static function process( $force = false ) {
		global $wpdb;
		$result = array(
			'sent'    => 0,
			'failed'  => 0,
			'pending' => 0,
		);
		if ( ! self::is_configured() ) {
			$result['pending'] = self::count( 'pending' );
			return $result;
		}
		// One sender at a time (a cron run and a "Send now" click may overlap); released with the connection at worst.
		$lock = $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 0)', $wpdb->prefix . 'inkflow_connector_queue' ) ); // phpcs:ignore WordPress.DB
		if ( '1' !== (string) $lock ) {
			$result['pending'] = self::count( 'pending' );
			return $result;
		}
		$table    = self::table();
		$settings = self::settings();
		$deadline = microtime( true ) + 20;
		try {
			for ( $i = 0; $i < self::BATCH && microtime( true ) < $deadline; $i++ ) {
				$row = $wpdb->get_row( "SELECT * FROM {$table} WHERE state = 'pending' ORDER BY id ASC LIMIT 1" ); // phpcs:ignore WordPress.DB
				if ( ! $row || ( ! $force && (int) $row->next_attempt_at > time() ) ) {
					break;
				}
				$answer   = self::send( $row, $settings );
				$attempts = (int) $row->attempts + 1;
				$now      = time();
				self::remember_last( $row, $answer, $now );
				if ( $answer['ok'] ) {
					$wpdb->delete( $table, array( 'id' => $row->id ), array( '%d' ) ); // phpcs:ignore WordPress.DB
					++$result['sent'];
					continue;
				}
				$fields = array(
					'attempts'        => $attempts,
					'last_attempt_at' => $now,
					'last_status'     => $answer['status'],
					'last_error'      => $answer['error'],
				);
				if ( $answer['retry'] && $attempts < self::MAX_ATTEMPTS ) {
					$fields['next_attempt_at'] = $now + self::RETRY_DELAYS[ $attempts - 1 ];
					$wpdb->update( $table, $fields, array( 'id' => $row->id ) ); // phpcs:ignore WordPress.DB
					break;
				}
				// A 4xx will not change by retrying, and a delivery out of tries is dropped: both are listed as failed.
				if ( $answer['retry'] ) {
					/* translators: 1: number of tries, 2: the last error. */
					$fields['last_error'] = sprintf( __( 'Dropped after %1$d tries. Last error: %2$s', 'inkflow-connector' ), $attempts, $answer['error'] );
				}
				$fields['state'] = 'failed';
				$wpdb->update( $table, $fields, array( 'id' => $row->id ) ); // phpcs:ignore WordPress.DB
				++$result['failed'];
			}
		} finally {
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $wpdb->prefix . 'inkflow_connector_queue' ) ); // phpcs:ignore WordPress.DB
			self::prune_failed();
			self::schedule();
		}
		$result['pending'] = self::count( 'pending' );
		return $result;
	}

	/**
	 * Post one delivery, signed now.
	 *
	 * @param object $row      The queue row.
	 * @param array  $settings The settings.
	 * @return array{ok: bool, retry: bool, status: int, error: string}
	 */
	private static function send( $row, array $settings ) {
		$timestamp = time();
		$response  = wp_remote_post(
			untrailingslashit( $settings['base_url'] ) . self::ENDPOINT,
			array(
				'timeout'     => self::TIMEOUT,
				'redirection' => 0,
				'headers'     => array(
					'Authorization'     => 'ApiKey ' . $settings['api_key'],
					'Content-Type'      => 'application/json',
					'webhook-id'        => $row->webhook_id,
					'webhook-timestamp' => (string) $timestamp,
					'webhook-signature' => self::sign( $settings['webhook_secret'], $row->webhook_id, $timestamp, $row->body ),
				),
				'body'        => $row->body,
			)
		);
		if ( is_wp_error( $response ) ) {
			return array(
				'ok'     => false,
				'retry'  => true,
				'status' => 0,
				/* translators: %s: the HTTP library's error. */
				'error'  => sprintf( __( 'No answer from Inkflow: %s', 'inkflow-connector' ), $response->get_error_message() ),
			);
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		if ( $status >= 200 && $status < 300 ) {
			return array(
				'ok'     => true,
				'retry'  => false,
				'status' => $status,
				'error'  => '',
			);
		}
		return array(
			'ok'     => false,
			'retry'  => $status >= 500 || in_array( $status, array( 408, 425, 429 ), true ),
			'status' => $status,
			'error'  => self::describe_error( $status, wp_remote_retrieve_body( $response ) ),
		);
	}

	/**
	 * "HTTP 401 (invalid_signature): The webhook signature does not match." from Inkflow's error
	 * envelope `{success: false, error, code}`, or the start of whatever else came back.
	 *
	 * @param int    $status HTTP status.
	 * @param string $body   Response body.
	 * @return string
	 */
	public static function describe_error( $status, $body ) {
		$json = json_decode( (string) $body, true );
		if ( is_array( $json ) && isset( $json['error'] ) && is_string( $json['error'] ) ) {
			$code = isset( $json['code'] ) && is_string( $json['code'] ) ? ' (' . $json['code'] . ')' : '';
			return sprintf( 'HTTP %d%s: %s', $status, $code, $json['error'] );
		}
		$text = trim( wp_strip_all_tags( (string) $body ) );
		return sprintf( 'HTTP %d', $status ) . ( '' !== $text ? ': ' . mb_substr( $text, 0, 200 ) : '' );
	}

	/**
	 * Keep the outcome of the latest try for the settings page.
	 *
	 * @param object $row    The queue row.
	 * @param array  $answer What send() returned.
	 * @param int    $now    When.
	 */
	private static function remember_last( $row, array $answer, $now ) {
		$status                  = get_option( self::STATUS_OPTION, array() );
		$status                  = is_array( $status ) ? $status : array();
		$status['last_delivery'] = array(
			'at'         => $now,
			'webhook_id' => $row->webhook_id,
			'event'      => $row->event,
			'ok'         => $answer['ok'],
			'status'     => $answer['status'],
			'error'      => $answer['error'],
		);
		update_option( self::STATUS_OPTION, $status, false );
	}

	/**
	 * Forget the oldest failed deliveries beyond KEEP_FAILED.
	 */
	private static function prune_failed() {
		global $wpdb;
		$table = self::table();
		$keep  = $wpdb->get_var( $wpdb->prepare( "SELECT id FROM {$table} WHERE state = 'failed' ORDER BY id DESC LIMIT 1 OFFSET %d", self::KEEP_FAILED - 1 ) ); // phpcs:ignore WordPress.DB
		if ( null !== $keep ) {
			$wpdb->query( $wpdb->prepare( "DELETE FROM {$table} WHERE state = 'failed' AND id < %d", (int) $keep ) ); // phpcs:ignore WordPress.DB
		}
	}

	/**
	 * Put the failed deliveries back in the queue (after fixing the key or secret), same webhook-ids.
	 *
	 * @return int How many.
	 */
	public static function retry_failed() {
		global $wpdb;
		$table = self::table();
		$count = (int) $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET state = 'pending', attempts = 0, next_attempt_at = %d WHERE state = 'failed'", time() ) ); // phpcs:ignore WordPress.DB
		self::schedule();
		return $count;
	}

	/**
	 * Forget the failed deliveries.
	 *
	 * @return int How many.
	 */
	public static function clear_failed() {
		global $wpdb;
		$table = self::table();
		return (int) $wpdb->query( "DELETE FROM {$table} WHERE state = 'failed'" ); // phpcs:ignore WordPress.DB
	}

	/**
	 * How many rows in a state.
	 *
	 * @param string $state pending|failed.
	 * @return int
	 */
	public static function count( $state ) {
		global $wpdb;
		$table = self::table();
		return (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$table} WHERE state = %s", $state ) ); // phpcs:ignore WordPress.DB
	}

	/**
	 * Rows in a state, oldest first for the queue and newest first for failures.
	 *
	 * @param string $state pending|failed.
	 * @param int    $limit At most this many.
	 * @return array<object>
	 */
	public static function rows( $state, $limit = 20 ) {
		global $wpdb;
		$table = self::table();
		$order = 'pending' === $state ? 'ASC' : 'DESC';
		return (array) $wpdb->get_results( $wpdb->prepare( "SELECT id, webhook_id, event, state, attempts, created_at, next_attempt_at, last_attempt_at, last_status, last_error FROM {$table} WHERE state = %s ORDER BY id {$order} LIMIT %d", $state, $limit ) ); // phpcs:ignore WordPress.DB
	}
}
