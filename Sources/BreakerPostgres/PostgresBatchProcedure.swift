/// The batch procedure: every statement of a `WriteBatch` and then `COMMIT`, in one `CALL`, so
/// a batch costs one round trip instead of BEGIN, a statement per kind of row, and COMMIT.
///
/// **Acknowledged = committed.** The procedure's `COMMIT` is a full commit (WAL flushed, the
/// wait for a synchronous standby included) that runs before the procedure returns, and the
/// `CALL`'s CommandComplete, which is what completes the query in postgres-nio, is sent only
/// after the procedure returned. Unlike a lone autocommitted statement (committed at Sync,
/// *after* its CommandComplete), nothing of the batch is left to commit after the reply.
/// Checked against PostgreSQL 15 on the wire: with `synchronous_standby_names` naming a
/// standby that never answers, a CALL followed by Flush (no Sync) gets no reply at all, while
/// an autocommitted INSERT gets its CommandComplete at once. An error anywhere in the procedure
/// aborts the whole transaction before its COMMIT, and the call fails.
///
/// **Never inside a transaction block:** PostgreSQL refuses a procedure's COMMIT there
/// (`invalid transaction termination`, SQLSTATE 2D000), so a session stuck in an open
/// transaction cannot commit through it by accident; imports use the statements one by one.
///
/// **Per session, never shared.** It is created in `pg_temp` (the session's own temporary
/// schema) on a term's first write, so it always matches this build's statements, needs no
/// schema migration, and dies with the session. Creating it needs the TEMPORARY privilege on
/// the database; without it the store keeps the BEGIN … COMMIT path (`PostgresStore.write`).
enum PostgresBatchProcedure {
    static let name = "pg_temp.breakerd_write_batch"

    static let createSQL: String = {
        typealias S = PostgresBatchStatements
        let arguments = S.parameterTypes.joined(separator: ", ")
        return """
            CREATE OR REPLACE PROCEDURE \(name)(\(arguments)) LANGUAGE plpgsql AS $batch$
            BEGIN
                IF cardinality($1) > 0 THEN
                    \(PostgresBreakerRow.upsertSQL(first: 1));
                END IF;
                IF cardinality($\(S.firstLog)) > 0 THEN
                    \(S.appendLogSQL(first: S.firstLog));
                END IF;
                IF cardinality($\(S.firstTrim)) > 0 THEN
                    \(S.trimLogSQL(first: S.firstTrim));
                END IF;
                IF cardinality($\(S.firstDedupe)) > 0 THEN
                    \(S.rememberSQL(first: S.firstDedupe));
                END IF;
                IF $\(S.prune) IS NOT NULL THEN
                    \(S.pruneSQL(first: S.prune));
                END IF;
                COMMIT;
            END
            $batch$
            """
    }()

    /// The call, every argument bound (in `PostgresBatchStatements.parameterTypes` order).
    static let callSQL: String = {
        let arguments = PostgresBatchStatements.parameterTypes.enumerated().map { "$\($0.offset + 1)::\($0.element)" }
        return "CALL \(name)(\(arguments.joined(separator: ", ")))"
    }()
}
