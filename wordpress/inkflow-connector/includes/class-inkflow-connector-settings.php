<?php
/**
 * Settings -> Inkflow: connection settings, the connection test and the delivery status.
 *
 * @package Inkflow_Connector
 */

defined( 'ABSPATH' ) || exit;

/**
 * The settings page (administrators only: manage_options) and its buttons.
 */
final class Inkflow_Connector_Settings {

	const PAGE  = 'inkflow-connector';
	const GROUP = 'inkflow_connector';

	/**
	 * Hooks.
	 */
	public static function init() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_init', array( __CLASS__, 'register' ) );
		foreach ( array( 'test', 'send_now', 'retry_failed', 'clear_failed' ) as $action ) {
			add_action( 'admin_post_inkflow_connector_' . $action, array( __CLASS__, 'handle_' . $action ) );
		}
	}

	/**
	 * Settings -> Inkflow.
	 */
	public static function menu() {
		add_options_page(
			__( 'Inkflow', 'inkflow-connector' ),
			__( 'Inkflow', 'inkflow-connector' ),
			'manage_options',
			self::PAGE,
			array( __CLASS__, 'render' )
		);
	}

	/**
	 * The option, saved through options.php (which checks the nonce and manage_options).
	 */
	public static function register() {
		register_setting(
			self::GROUP,
			Inkflow_Connector_Queue::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( __CLASS__, 'sanitize' ),
				'default'           => array(
					'base_url'       => '',
					'api_key'        => '',
					'webhook_secret' => '',
				),
			)
		);
	}

	/**
	 * Validate the form. A bad value is refused with a message and the saved one kept; an empty
	 * key or secret field keeps the saved secret (they are never sent back to the browser).
	 *
	 * @param mixed $input The submitted values.
	 * @return array
	 */
	public static function sanitize( $input ) {
		$saved = Inkflow_Connector_Queue::settings();
		if ( ! is_array( $input ) ) {
			return $saved;
		}
		$out = $saved;

		$url = isset( $input['base_url'] ) && is_string( $input['base_url'] ) ? trim( $input['base_url'] ) : '';
		if ( '' === $url ) {
			$out['base_url'] = '';
		} else {
			$clean = esc_url_raw( $url, array( 'http', 'https' ) );
			$parts = wp_parse_url( $clean );
			if ( '' === $clean || empty( $parts['host'] ) || ! empty( $parts['query'] ) || ! empty( $parts['fragment'] ) ) {
				self::error( 'base_url', __( 'The Inkflow base URL must be an http:// or https:// address, such as https://inkflow.example.com. It was not changed.', 'inkflow-connector' ) );
			} else {
				$out['base_url'] = untrailingslashit( $clean );
			}
		}

		$key = isset( $input['api_key'] ) && is_string( $input['api_key'] ) ? trim( $input['api_key'] ) : '';
		if ( '' !== $key ) {
			if ( preg_match( '/^[A-Za-z0-9_\-]{16,200}$/', $key ) ) {
				$out['api_key'] = $key;
			} else {
				self::error( 'api_key', __( 'The API key must be the ink_… key Inkflow showed when the integration was created or its key rotated (letters, digits, - and _). It was not changed.', 'inkflow-connector' ) );
			}
		}

		$secret = isset( $input['webhook_secret'] ) && is_string( $input['webhook_secret'] ) ? trim( $input['webhook_secret'] ) : '';
		if ( '' !== $secret ) {
			if ( false !== Inkflow_Connector_Queue::secret_key( $secret ) ) {
				$out['webhook_secret'] = $secret;
			} else {
				self::error( 'webhook_secret', __( 'The webhook secret must be the whsec_… value Inkflow showed with the API key. It was not changed.', 'inkflow-connector' ) );
			}
		}
		return $out;
	}

	/**
	 * A message shown above the form after saving.
	 *
	 * @param string $code    Field.
	 * @param string $message Text.
	 */
	private static function error( $code, $message ) {
		add_settings_error( Inkflow_Connector_Queue::OPTION, 'inkflow_connector_' . $code, $message, 'error' );
	}

	/**
	 * Every button's gate: an administrator, and the nonce of that button's form.
	 *
	 * @param string $action The nonce action.
	 */
	private static function check( $action ) {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to change the Inkflow settings.', 'inkflow-connector' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( $action );
	}

	/**
	 * Back to the page with a message for this user.
	 *
	 * @param string $message Text.
	 * @param string $type    success|error|info.
	 */
	private static function back( $message, $type = 'success' ) {
		set_transient(
			'inkflow_connector_notice_' . get_current_user_id(),
			array(
				'message' => $message,
				'type'    => $type,
			),
			300
		);
		wp_safe_redirect( admin_url( 'options-general.php?page=' . self::PAGE ) );
		exit;
	}

	/**
	 * "Test connection": call Inkflow with the API key and say what came back.
	 */
	public static function handle_test() {
		self::check( 'inkflow_connector_test' );
		$result                = self::test_connection();
		$status                = get_option( Inkflow_Connector_Queue::STATUS_OPTION, array() );
		$status                = is_array( $status ) ? $status : array();
		$status['last_test']   = $result + array( 'at' => time() );
		update_option( Inkflow_Connector_Queue::STATUS_OPTION, $status, false );
		self::back( $result['message'], $result['ok'] ? 'success' : 'error' );
	}

	/**
	 * GET the site's taxonomies from Inkflow with `Authorization: ApiKey`: one of the endpoints a
	 * site key may call, cheap, and with no side effect.
	 *
	 * @return array{ok: bool, message: string}
	 */
	public static function test_connection() {
		$s = Inkflow_Connector_Queue::settings();
		if ( '' === $s['base_url'] || '' === $s['api_key'] ) {
			return array(
				'ok'      => false,
				'message' => __( 'Not tested: enter and save the Inkflow base URL and the API key first.', 'inkflow-connector' ),
			);
		}
		$response = wp_remote_get(
			$s['base_url'] . '/api/v1/writer/taxonomies/?page_size=1',
			array(
				'timeout'     => 10,
				'redirection' => 0,
				'headers'     => array(
					'Authorization' => 'ApiKey ' . $s['api_key'],
					'Accept'        => 'application/json',
				),
			)
		);
		if ( is_wp_error( $response ) ) {
			return array(
				'ok'      => false,
				/* translators: 1: base URL, 2: error. */
				'message' => sprintf( __( 'Could not reach Inkflow at %1$s: %2$s', 'inkflow-connector' ), $s['base_url'], $response->get_error_message() ),
			);
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		$body = wp_remote_retrieve_body( $response );
		$json = json_decode( $body, true );
		if ( 200 === $code && is_array( $json ) && ! empty( $json['success'] ) && isset( $json['count'] ) ) {
			$message = sprintf(
				/* translators: 1: base URL, 2: number of categories and tags. */
				__( 'Connected: Inkflow at %1$s accepted the API key; it knows %2$d categories and tags of this site. The webhook secret is checked with each delivery (a wrong one shows as HTTP 401 under "Failed deliveries").', 'inkflow-connector' ),
				$s['base_url'],
				(int) $json['count']
			);
			if ( '' === $s['webhook_secret'] ) {
				$message .= ' ' . __( 'Enter the webhook secret too: nothing is sent without it.', 'inkflow-connector' );
			}
			return array(
				'ok'      => true,
				'message' => $message,
			);
		}
		$detail = Inkflow_Connector_Queue::describe_error( $code, $body );
		if ( 401 === $code ) {
			/* translators: %s: Inkflow's answer. */
			$message = sprintf( __( 'Inkflow refused the API key (%s). Copy the key again from the integration in Inkflow, or rotate it there.', 'inkflow-connector' ), $detail );
		} elseif ( 404 === $code ) {
			/* translators: %s: Inkflow's answer. */
			$message = sprintf( __( 'No Inkflow API at this address (%s): the base URL is the Inkflow server\'s address, without /api/v1.', 'inkflow-connector' ), $detail );
		} elseif ( 200 === $code ) {
			$message = __( 'Something answered, but not Inkflow: check the base URL.', 'inkflow-connector' );
		} else {
			/* translators: %s: Inkflow's answer. */
			$message = sprintf( __( 'Inkflow answered %s.', 'inkflow-connector' ), $detail );
		}
		return array(
			'ok'      => false,
			'message' => $message,
		);
	}

	/**
	 * "Send queued deliveries now", retry times notwithstanding.
	 */
	public static function handle_send_now() {
		self::check( 'inkflow_connector_send_now' );
		$r = Inkflow_Connector_Queue::process( true );
		/* translators: 1: delivered, 2: failed, 3: still queued. */
		$message = sprintf( __( 'Delivered %1$d, failed %2$d, still queued %3$d.', 'inkflow-connector' ), $r['sent'], $r['failed'], $r['pending'] );
		self::back( $message, $r['failed'] || $r['pending'] ? 'error' : 'success' );
	}

	/**
	 * "Retry failed deliveries": back in the queue with their webhook-ids.
	 */
	public static function handle_retry_failed() {
		self::check( 'inkflow_connector_retry_failed' );
		$n = Inkflow_Connector_Queue::retry_failed();
		/* translators: %d: number of deliveries. */
		self::back( sprintf( _n( '%d failed delivery is queued again.', '%d failed deliveries are queued again.', $n, 'inkflow-connector' ), $n ) );
	}

	/**
	 * "Clear failed deliveries".
	 */
	public static function handle_clear_failed() {
		self::check( 'inkflow_connector_clear_failed' );
		$n = Inkflow_Connector_Queue::clear_failed();
		/* translators: %d: number of deliveries. */
		self::back( sprintf( _n( '%d failed delivery removed.', '%d failed deliveries removed.', $n, 'inkflow-connector' ), $n ) );
	}

	/**
	 * A time for people: the site's date format and time zone.
	 *
	 * @param int|null $ts Unix seconds.
	 * @return string
	 */
	private static function when( $ts ) {
		return $ts ? wp_date( 'Y-m-d H:i:s T', (int) $ts ) : '—';
	}

	/**
	 * A button in its own small form posting to admin-post.php with its nonce.
	 *
	 * @param string $action Action suffix.
	 * @param string $label  Button text.
	 * @param string $class  CSS class.
	 */
	private static function button( $action, $label, $class = 'button' ) {
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '" style="display:inline-block;margin-right:8px">';
		echo '<input type="hidden" name="action" value="' . esc_attr( 'inkflow_connector_' . $action ) . '">';
		wp_nonce_field( 'inkflow_connector_' . $action );
		echo '<button type="submit" class="' . esc_attr( $class ) . '" id="' . esc_attr( 'inkflow-' . str_replace( '_', '-', $action ) ) . '">' . esc_html( $label ) . '</button>';
		echo '</form>';
	}

	/**
	 * A table of queue rows.
	 *
	 * @param array<object> $rows    Rows.
	 * @param bool          $pending Whether these wait (then the next try is shown).
	 */
	private static function rows_table( array $rows, $pending ) {
		echo '<table class="widefat striped" style="max-width:1100px"><thead><tr>';
		$heads = array( __( 'Event', 'inkflow-connector' ), __( 'webhook-id', 'inkflow-connector' ), __( 'Queued', 'inkflow-connector' ), __( 'Tries', 'inkflow-connector' ) );
		$heads[] = $pending ? __( 'Next try', 'inkflow-connector' ) : __( 'Last try', 'inkflow-connector' );
		$heads[] = __( 'Last error', 'inkflow-connector' );
		foreach ( $heads as $head ) {
			echo '<th>' . esc_html( $head ) . '</th>';
		}
		echo '</tr></thead><tbody>';
		foreach ( $rows as $row ) {
			echo '<tr>';
			echo '<td>' . esc_html( $row->event ) . '</td>';
			echo '<td><code>' . esc_html( $row->webhook_id ) . '</code></td>';
			echo '<td>' . esc_html( self::when( $row->created_at ) ) . '</td>';
			echo '<td>' . esc_html( (string) (int) $row->attempts ) . '</td>';
			echo '<td>' . esc_html( self::when( $pending ? $row->next_attempt_at : $row->last_attempt_at ) ) . '</td>';
			echo '<td>' . esc_html( (string) $row->last_error ) . '</td>';
			echo '</tr>';
		}
		echo '</tbody></table>';
	}

	/**
	 * The page.
	 */
	public static function render() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage the Inkflow settings.', 'inkflow-connector' ), '', array( 'response' => 403 ) );
		}
		$s      = Inkflow_Connector_Queue::settings();
		$status = get_option( Inkflow_Connector_Queue::STATUS_OPTION, array() );
		$status = is_array( $status ) ? $status : array();
		$notice = get_transient( 'inkflow_connector_notice_' . get_current_user_id() );
		if ( $notice ) {
			delete_transient( 'inkflow_connector_notice_' . get_current_user_id() );
		}
		$opt = Inkflow_Connector_Queue::OPTION;
		?>
		<div class="wrap" id="inkflow-connector">
			<h1><?php esc_html_e( 'Inkflow', 'inkflow-connector' ); ?></h1>
			<?php if ( is_array( $notice ) && isset( $notice['message'] ) ) : ?>
				<div id="inkflow-notice" class="notice notice-<?php echo esc_attr( 'error' === $notice['type'] ? 'error' : 'success' ); ?>"><p><?php echo esc_html( $notice['message'] ); ?></p></div>
			<?php endif; ?>
			<p><?php esc_html_e( 'Tells Inkflow about the posts, pages, categories and tags edited here. In Inkflow, create a WordPress integration for this site: it shows the API key and the webhook secret once; paste them here.', 'inkflow-connector' ); ?></p>

			<h2><?php esc_html_e( 'Connection', 'inkflow-connector' ); ?></h2>
			<form method="post" action="<?php echo esc_url( admin_url( 'options.php' ) ); ?>">
				<?php settings_fields( self::GROUP ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="inkflow-base-url"><?php esc_html_e( 'Inkflow base URL', 'inkflow-connector' ); ?></label></th>
						<td><input type="url" class="regular-text" id="inkflow-base-url" name="<?php echo esc_attr( $opt ); ?>[base_url]" value="<?php echo esc_attr( $s['base_url'] ); ?>" placeholder="https://inkflow.example.com">
						<p class="description"><?php esc_html_e( 'The address of the Inkflow server, without /api/v1.', 'inkflow-connector' ); ?></p></td>
					</tr>
					<tr>
						<th scope="row"><label for="inkflow-api-key"><?php esc_html_e( 'API key', 'inkflow-connector' ); ?></label></th>
						<td><input type="password" class="regular-text" id="inkflow-api-key" name="<?php echo esc_attr( $opt ); ?>[api_key]" value="" autocomplete="off" placeholder="<?php echo esc_attr( '' === $s['api_key'] ? 'ink_…' : __( 'saved; leave empty to keep it', 'inkflow-connector' ) ); ?>">
						<p class="description" id="inkflow-api-key-state">
						<?php
						echo esc_html(
							'' === $s['api_key']
								? __( 'Not set.', 'inkflow-connector' )
								/* translators: %s: the start of the key. */
								: sprintf( __( 'Saved: %s…', 'inkflow-connector' ), substr( $s['api_key'], 0, 8 ) )
						);
						?>
						</p></td>
					</tr>
					<tr>
						<th scope="row"><label for="inkflow-webhook-secret"><?php esc_html_e( 'Webhook secret', 'inkflow-connector' ); ?></label></th>
						<td><input type="password" class="regular-text" id="inkflow-webhook-secret" name="<?php echo esc_attr( $opt ); ?>[webhook_secret]" value="" autocomplete="off" placeholder="<?php echo esc_attr( '' === $s['webhook_secret'] ? 'whsec_…' : __( 'saved; leave empty to keep it', 'inkflow-connector' ) ); ?>">
						<p class="description" id="inkflow-webhook-secret-state"><?php echo esc_html( '' === $s['webhook_secret'] ? __( 'Not set.', 'inkflow-connector' ) : __( 'Saved.', 'inkflow-connector' ) ); ?></p></td>
					</tr>
				</table>
				<?php submit_button( __( 'Save settings', 'inkflow-connector' ) ); ?>
			</form>
			<?php self::button( 'test', __( 'Test connection', 'inkflow-connector' ), 'button button-secondary' ); ?>
			<?php if ( ! empty( $status['last_test'] ) && is_array( $status['last_test'] ) ) : ?>
				<p id="inkflow-last-test"><strong><?php echo esc_html( ! empty( $status['last_test']['ok'] ) ? __( 'Last test: connected.', 'inkflow-connector' ) : __( 'Last test: failed.', 'inkflow-connector' ) ); ?></strong>
				<?php echo esc_html( (string) $status['last_test']['message'] . ' (' . self::when( $status['last_test']['at'] ) . ')' ); ?></p>
			<?php endif; ?>

			<h2><?php esc_html_e( 'Deliveries', 'inkflow-connector' ); ?></h2>
			<p>
			<?php
			echo esc_html(
				sprintf(
					/* translators: 1: tries, 2: retry delays. */
					__( 'Each change is sent from WP-Cron, never while the editor waits. A delivery that gets no answer or a 5xx is tried again with the same webhook-id, up to %1$d tries in all (waiting %2$s between them); a 4xx answer such as a wrong key or secret is not retried. Failed deliveries stay listed here (the latest 50) and can be queued again.', 'inkflow-connector' ),
					Inkflow_Connector_Queue::MAX_ATTEMPTS,
					'1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h'
				)
			);
			?>
			</p>
			<p id="inkflow-last-delivery"><strong><?php esc_html_e( 'Last delivery:', 'inkflow-connector' ); ?></strong>
			<?php
			$last = isset( $status['last_delivery'] ) && is_array( $status['last_delivery'] ) ? $status['last_delivery'] : null;
			if ( ! $last ) {
				esc_html_e( 'none yet.', 'inkflow-connector' );
			} else {
				$outcome = $last['ok']
					/* translators: %d: HTTP status. */
					? sprintf( __( 'delivered (HTTP %d)', 'inkflow-connector' ), (int) $last['status'] )
					/* translators: %s: error. */
					: sprintf( __( 'not delivered: %s', 'inkflow-connector' ), (string) $last['error'] );
				echo esc_html( sprintf( '%s %s, %s — %s', (string) $last['event'], (string) $last['webhook_id'], self::when( $last['at'] ), $outcome ) );
			}
			?>
			</p>
			<?php
			$pending = Inkflow_Connector_Queue::count( 'pending' );
			$failed  = Inkflow_Connector_Queue::count( 'failed' );
			?>
			<h3 id="inkflow-queued"><?php echo esc_html( sprintf( /* translators: %d: count. */ __( 'Queued deliveries: %d', 'inkflow-connector' ), $pending ) ); ?></h3>
			<?php
			if ( $pending ) {
				self::rows_table( Inkflow_Connector_Queue::rows( 'pending' ), true );
				echo '<p>';
				self::button( 'send_now', __( 'Send queued deliveries now', 'inkflow-connector' ) );
				echo '</p>';
			}
			?>
			<h3 id="inkflow-failed"><?php echo esc_html( sprintf( /* translators: %d: count. */ __( 'Failed deliveries: %d', 'inkflow-connector' ), $failed ) ); ?></h3>
			<?php
			if ( $failed ) {
				self::rows_table( Inkflow_Connector_Queue::rows( 'failed' ), false );
				echo '<p>';
				self::button( 'retry_failed', __( 'Retry failed deliveries', 'inkflow-connector' ) );
				self::button( 'clear_failed', __( 'Clear failed deliveries', 'inkflow-connector' ) );
				echo '</p>';
			}
			?>
		</div>
		<?php
	}
}
