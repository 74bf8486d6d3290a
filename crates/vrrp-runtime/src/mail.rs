//! `global_defs`' mail keywords handed to `smtp-alert` (which reads no configuration itself).

/// The mail part of `global_defs`.
pub(crate) fn defs(g: &conf_parse::GlobalDefs) -> smtp_alert::MailDefs {
    smtp_alert::MailDefs {
        router_id: g.router_id.clone(),
        notification_email: g.notification_email.clone(),
        notification_email_from: g.notification_email_from.clone(),
        smtp_server: g.smtp_server.clone(),
        smtp_helo_name: g.smtp_helo_name.clone(),
        smtp_connect_timeout: g.smtp_connect_timeout,
        smtp_alert: g.smtp_alert,
        smtp_alert_vrrp: g.smtp_alert_vrrp,
        smtp_alert_checker: g.smtp_alert_checker,
    }
}
