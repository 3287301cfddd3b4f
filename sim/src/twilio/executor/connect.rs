//! `<Connect><Stream>`: the stream is recorded, its socket opened with Twilio's signed upgrade,
//! the call played over it until it ends, and its end recorded and reported to the stream's
//! status callback; then the call goes on after `</Connect>`, or at `<Connect action>`.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use super::super::call_record::{StreamEndedBy, StreamRecord};
use super::super::spec::HttpMethod;
use super::super::status::{StreamCallbackTarget, StreamStatus, stream_status};
use super::super::stream::{
    AfterStop, StreamEnd, StreamSetup, WsStream, drive_stream, finish_close, open_stream,
};
use super::super::twiml::{StreamNoun, check_stream_url};
use super::{Executor, Flow, absolute, to_ws_scheme};
use crate::capture::{CapturedSink, CapturedStream, Socket, Tap};

impl Executor<'_> {
    pub(super) async fn connect(
        &mut self,
        action: Option<&str>,
        method: HttpMethod,
        noun: &StreamNoun,
        doc_url: Option<&str>,
    ) -> Flow {
        let ctx = self.ctx;
        let after = |action: Option<&str>| match action.and_then(|a| absolute(doc_url, a)) {
            Some(url) => Flow::Fetch {
                url,
                method,
                extra: Vec::new(),
            },
            None => Flow::Next,
        };
        let public = absolute(doc_url.map(to_ws_scheme).as_deref(), &noun.url)
            .unwrap_or_else(|| noun.url.clone());
        let stream_sid = ctx.ids.twilio_sid("MZ");
        let (index, target) = self.stream_record(&public, &stream_sid, noun, doc_url);
        if let Err(message) = check_stream_url(&public) {
            return self
                .stream_failed(index, target.as_ref(), None, &message, after(action))
                .await;
        }
        if !self.stream_connect_delay.is_zero()
            && let Some(cmd) = self.wait(self.stream_connect_delay).await
        {
            return Flow::Control(cmd);
        }
        let (ws, status) = match open_stream(&ctx.env, &public, !ctx.faults.unsigned_stream).await {
            Ok(ok) => ok,
            Err(e) => {
                return self
                    .stream_failed(index, target.as_ref(), e.status, &e.message, after(action))
                    .await;
            }
        };
        ctx.record
            .update(|r| r.streams[index].handshake_status = Some(status));
        if let Some(t) = &target {
            stream_status(ctx, t, StreamStatus::Started, None).await;
        }
        let end = self.run_stream(ws, index, &stream_sid, noun).await;
        self.stream_ended(index, &end, target.as_ref()).await;
        match end {
            StreamEnd::Caller => Flow::End("completed".into()),
            StreamEnd::Server | StreamEnd::Drop => after(action),
            StreamEnd::Rest(cmd) => Flow::Control(cmd),
        }
    }

    /// Records a new stream of the call and where its status callbacks go, if anywhere.
    fn stream_record(
        &self,
        public: &str,
        stream_sid: &str,
        noun: &StreamNoun,
        doc_url: Option<&str>,
    ) -> (usize, Option<StreamCallbackTarget>) {
        let ctx = self.ctx;
        let index = ctx.record.update(|r| {
            r.streams.push(StreamRecord::new(
                stream_sid,
                public,
                noun.name.clone(),
                noun.parameters.clone(),
            ));
            r.streams.len() - 1
        });
        let target = noun
            .status_callback
            .as_ref()
            .map(|url| StreamCallbackTarget {
                url: absolute(doc_url, url).unwrap_or_else(|| url.clone()),
                method: noun.status_callback_method,
                stream_sid: stream_sid.to_owned(),
                stream_name: noun.name.clone().unwrap_or_else(|| stream_sid.to_owned()),
            });
        (index, target)
    }

    /// Plays the call over an open stream socket until it ends, then closes the socket as the
    /// end demands (a dropped connection vanishes without a close frame).
    async fn run_stream(
        &mut self,
        ws: WsStream,
        index: usize,
        stream_sid: &str,
        noun: &StreamNoun,
    ) -> StreamEnd {
        let ctx = self.ctx;
        let setup = StreamSetup {
            account_sid: ctx.identity.account_sid.clone(),
            call_sid: ctx.identity.call_sid.clone(),
            stream_sid: stream_sid.to_owned(),
            custom_parameters: noun
                .parameters
                .clone()
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
            drop_at: ctx.faults.drop_stream_at,
            index,
        };
        let (tx, rx) = ws.split();
        let tap = Tap::new(&ctx.env.capture, Socket::Twilio, stream_sid);
        let (mut tx, mut rx) = (
            CapturedSink::new(tx, tap.clone()),
            CapturedStream::new(rx, tap),
        );
        let end = drive_stream(
            &mut tx,
            &mut rx,
            &setup,
            ctx.env.clock,
            self.caller,
            self.control,
            &ctx.record,
        )
        .await;
        match end {
            // A dropped connection vanishes without a close frame.
            StreamEnd::Drop => drop((tx, rx)),
            StreamEnd::Server => finish_close(tx, rx, None),
            StreamEnd::Caller | StreamEnd::Rest(_) => {
                let watch = AfterStop {
                    record: ctx.record.clone(),
                    index,
                    clock: ctx.env.clock,
                    stream_sid: stream_sid.to_owned(),
                };
                finish_close(tx, rx, Some(watch));
            }
        }
        end
    }

    /// Records how the stream ended and sends its last status callback.
    async fn stream_ended(
        &self,
        index: usize,
        end: &StreamEnd,
        target: Option<&StreamCallbackTarget>,
    ) {
        let ctx = self.ctx;
        let ended_by = match end {
            StreamEnd::Caller => StreamEndedBy::Caller,
            StreamEnd::Server => StreamEndedBy::Server,
            StreamEnd::Drop => StreamEndedBy::Drop,
            StreamEnd::Rest(_) => StreamEndedBy::Rest,
        };
        let at = ctx.now_ms();
        ctx.record.update(|r| {
            r.streams[index].ended_at_ms = Some(at);
            r.streams[index].ended_by = Some(ended_by);
        });
        if let Some(t) = target {
            match end {
                StreamEnd::Drop => {
                    stream_status(ctx, t, StreamStatus::Error, Some("connection lost")).await
                }
                _ => stream_status(ctx, t, StreamStatus::Stopped, None).await,
            }
        }
    }

    async fn stream_failed(
        &mut self,
        index: usize,
        target: Option<&StreamCallbackTarget>,
        status: Option<u16>,
        message: &str,
        then: Flow,
    ) -> Flow {
        let err = self.ctx.error(31920, message);
        self.ctx.record.update(|r| {
            let st = &mut r.streams[index];
            st.handshake_status = status;
            st.ended_at_ms = Some(err.at_ms);
            st.warning_count += 1;
            st.warnings.push(err.clone());
        });
        if let Some(t) = target {
            stream_status(self.ctx, t, StreamStatus::Error, Some(message)).await;
        }
        then
    }
}
