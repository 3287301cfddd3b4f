//! JUnit XML: one testcase per scenario, failed assertions as the failure text.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::run_report::{Outcome, RunReport};

/// Failure text of a scenario: its harness error, or every failed assertion with its message.
pub fn failure_text(s: &super::ScenarioReport) -> String {
    if let Some(err) = &s.error {
        return err.clone();
    }
    s.assertions
        .iter()
        .filter(|a| !a.passed)
        .map(|a| format!("{}: expected {}\n{}", a.path, a.expected, a.message))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Renders the report as JUnit XML; `wall` gives each scenario's wall time when known.
pub fn render_junit(
    report: &RunReport,
    suite_name: &str,
    wall: &dyn Fn(&str) -> Option<Duration>,
) -> String {
    let mut junit = Report::new("callsim");
    let mut suite = TestSuite::new(suite_name);
    for s in &report.scenarios {
        let status = match s.outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::Skipped => TestCaseStatus::skipped(),
            Outcome::Failed | Outcome::Error => {
                let kind = if s.outcome == Outcome::Failed {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut st = TestCaseStatus::non_success(kind);
                let text = failure_text(s);
                st.set_message(text.lines().next().unwrap_or_default().to_string());
                st.set_description(text);
                st
            }
        };
        let mut case = TestCase::new(s.name.clone(), status);
        case.set_classname(format!(
            "callsim.{}",
            s.name.split('/').next().unwrap_or("scenarios")
        ));
        if let Some(w) = wall(&s.name) {
            case.set_time(w);
        }
        if s.runs > 1 {
            case.properties.push(quick_junit::Property::new(
                "pass_rate",
                format!("{}/{}", s.passed_runs, s.runs),
            ));
        }
        suite.add_test_case(case);
    }
    junit.add_test_suite(suite);
    junit.to_string().unwrap_or_default()
}
