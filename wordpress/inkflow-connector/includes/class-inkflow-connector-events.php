<?php
/**
 * Which WordPress changes become Inkflow events, and what each carries.
 *
 * @package Inkflow_Connector
 */

defined( 'ABSPATH' ) || exit;

/**
 * Posts and pages (not revisions, autosaves, auto-drafts, menu items or other types),
 * categories and tags. Each event carries what Inkflow needs to apply it without calling back.
 */
final class Inkflow_Connector_Events {

	const POST_TYPES = array( 'post', 'page' );
	const TAXONOMIES = array( 'category', 'post_tag' );

	/**
	 * Hooks.
	 */
	public static function init() {
		// wp_after_insert_post runs once the terms are saved too (the REST API sets them after the insert).
		add_action( 'wp_after_insert_post', array( __CLASS__, 'after_insert_post' ), 10, 4 );
		add_action( 'before_delete_post', array( __CLASS__, 'before_delete_post' ), 10, 2 );
		add_action( 'created_term', array( __CLASS__, 'created_term' ), 10, 3 );
		add_action( 'edited_term', array( __CLASS__, 'edited_term' ), 10, 3 );
		add_action( 'delete_term', array( __CLASS__, 'delete_term' ), 10, 5 );
	}

	/**
	 * Whether a post is one Inkflow follows.
	 *
	 * @param WP_Post $post The post.
	 * @return bool
	 */
	private static function is_followed( $post ) {
		return $post instanceof WP_Post
			&& in_array( $post->post_type, self::POST_TYPES, true )
			&& ! wp_is_post_revision( $post )
			&& ! wp_is_post_autosave( $post )
			&& ! in_array( $post->post_status, array( 'auto-draft', 'inherit' ), true );
	}

	/**
	 * A post was created or saved: created, published (it became public now), updated, or
	 * deleted when it went to the trash (WordPress's REST DELETE without force does that).
	 *
	 * @param int          $post_id     Post id.
	 * @param WP_Post      $post        The post as saved.
	 * @param bool         $update      Whether an existing post was saved.
	 * @param WP_Post|null $post_before The post before (null when new).
	 */
	public static function after_insert_post( $post_id, $post, $update, $post_before ) {
		if ( ! self::is_followed( $post ) ) {
			return;
		}
		// The block editor first stores an auto-draft; its first real save is the creation.
		$before = $post_before instanceof WP_Post ? $post_before->post_status : 'new';
		if ( 'trash' === $post->post_status ) {
			if ( 'trash' !== $before ) {
				Inkflow_Connector_Queue::enqueue( 'post.deleted', self::deleted_post_data( $post ) );
			}
			return;
		}
		if ( 'publish' === $post->post_status && 'publish' !== $before ) {
			$event = 'post.published';
		} elseif ( ! $update || in_array( $before, array( 'new', 'auto-draft', 'trash' ), true ) ) {
			$event = 'post.created'; // Restored from the trash counts as created again: Inkflow was told it was deleted.
		} else {
			$event = 'post.updated';
		}
		Inkflow_Connector_Queue::enqueue( $event, self::post_data( $post ) );
	}

	/**
	 * Deleted for good. A post already in the trash was reported when it went there.
	 *
	 * @param int     $post_id Post id.
	 * @param WP_Post $post    The post.
	 */
	public static function before_delete_post( $post_id, $post = null ) {
		$post = $post instanceof WP_Post ? $post : get_post( $post_id );
		if ( ! self::is_followed( $post ) || 'trash' === $post->post_status ) {
			return;
		}
		Inkflow_Connector_Queue::enqueue( 'post.deleted', self::deleted_post_data( $post ) );
	}

	/**
	 * The data of post.created|updated|published.
	 *
	 * @param WP_Post $post The post.
	 * @return array
	 */
	public static function post_data( WP_Post $post ) {
		$terms = function ( $taxonomy ) use ( $post ) {
			if ( ! is_object_in_taxonomy( $post->post_type, $taxonomy ) ) {
				return array();
			}
			$ids = wp_get_object_terms( $post->ID, $taxonomy, array( 'fields' => 'ids' ) );
			return is_wp_error( $ids ) ? array() : array_values( array_map( 'intval', $ids ) );
		};
		// A draft keeps a zero GMT date until published; the REST API derives it from the local one the same way.
		$modified_gmt = '0000-00-00 00:00:00' === $post->post_modified_gmt ? get_gmt_from_date( $post->post_modified ) : $post->post_modified_gmt;
		return array(
			'id'           => (int) $post->ID,
			'type'         => $post->post_type,
			'status'       => $post->post_status,
			'slug'         => $post->post_name,
			'link'         => (string) get_permalink( $post ),
			'title'        => $post->post_title,
			// The HTML as stored (what the editor wrote), not run through the theme's the_content filters.
			'content'      => $post->post_content,
			'excerpt'      => $post->post_excerpt,
			'modified_gmt' => mysql_to_rfc3339( $modified_gmt ),
			'categories'   => $terms( 'category' ),
			'tags'         => $terms( 'post_tag' ),
		);
	}

	/**
	 * The data of post.deleted.
	 *
	 * @param WP_Post $post The post.
	 * @return array
	 */
	private static function deleted_post_data( WP_Post $post ) {
		return array(
			'id'   => (int) $post->ID,
			'type' => $post->post_type,
		);
	}

	/**
	 * A category or tag was created.
	 *
	 * @param int    $term_id  Term id.
	 * @param int    $tt_id    Term taxonomy id.
	 * @param string $taxonomy Taxonomy.
	 */
	public static function created_term( $term_id, $tt_id, $taxonomy ) {
		self::term_event( 'term.created', $term_id, $taxonomy );
	}

	/**
	 * A category or tag was edited.
	 *
	 * @param int    $term_id  Term id.
	 * @param int    $tt_id    Term taxonomy id.
	 * @param string $taxonomy Taxonomy.
	 */
	public static function edited_term( $term_id, $tt_id, $taxonomy ) {
		self::term_event( 'term.updated', $term_id, $taxonomy );
	}

	/**
	 * A category or tag was deleted. WordPress has already changed the terms of the posts that had
	 * it, without saving them (so no post hook ran): a post whose only category it was is now in the
	 * default category. Each of those posts follows as post.updated with its terms as they are now.
	 *
	 * @param int          $term_id      Term id.
	 * @param int          $tt_id        Term taxonomy id.
	 * @param string       $taxonomy     Taxonomy.
	 * @param WP_Term|null $deleted_term The term as it was.
	 * @param int[]        $object_ids   The posts that had the term.
	 */
	public static function delete_term( $term_id, $tt_id, $taxonomy, $deleted_term = null, $object_ids = array() ) {
		if ( ! in_array( $taxonomy, self::TAXONOMIES, true ) ) {
			return;
		}
		Inkflow_Connector_Queue::enqueue(
			'term.deleted',
			array(
				'id'       => (int) $term_id,
				'taxonomy' => $taxonomy,
			)
		);
		foreach ( (array) $object_ids as $object_id ) {
			$post = get_post( (int) $object_id );
			if ( self::is_followed( $post ) && 'trash' !== $post->post_status ) {
				Inkflow_Connector_Queue::enqueue( 'post.updated', self::post_data( $post ) );
			}
		}
	}

	/**
	 * Queue term.created|updated with the term as it is now.
	 *
	 * @param string $event    Event name.
	 * @param int    $term_id  Term id.
	 * @param string $taxonomy Taxonomy.
	 */
	private static function term_event( $event, $term_id, $taxonomy ) {
		if ( ! in_array( $taxonomy, self::TAXONOMIES, true ) ) {
			return;
		}
		$term = get_term( (int) $term_id, $taxonomy );
		if ( ! $term instanceof WP_Term ) {
			return;
		}
		Inkflow_Connector_Queue::enqueue(
			$event,
			array(
				'id'          => (int) $term->term_id,
				'taxonomy'    => $term->taxonomy,
				'name'        => $term->name,
				'slug'        => $term->slug,
				'parent'      => (int) $term->parent,
				'description' => $term->description,
			)
		);
	}
}
